package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// dice wraps a seeded random source with the draws the generator needs. It
// is not safe for concurrent use; each location owns one.
type dice struct{ *rand.Rand }

func newDice(seed int64, stream uint64) dice {
	return dice{rand.New(rand.NewPCG(uint64(seed), stream))}
}

// chance returns true with probability p.
func (d dice) chance(p float64) bool { return d.Float64() < p }

// between returns an integer in [lo, hi].
func (d dice) between(lo, hi int) int { return lo + d.IntN(hi-lo+1) }

// duration returns a duration in [lo, hi).
func (d dice) duration(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(d.Int64N(int64(hi-lo)))
}

func pick[T any](d dice, xs []T) T { return xs[d.IntN(len(xs))] }

// weighted returns an index drawn with the given weights.
func (d dice) weighted(weights []float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	x := d.Float64() * sum
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// objectID returns a Mongo-style id: the creation second, then random bytes,
// as GHL's record ids are.
func (d dice) objectID(at time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(at.Unix()))
	binary.BigEndian.PutUint64(b[4:], d.Uint64())
	return hex.EncodeToString(b[:])
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// ghlID returns a 20-character id like GHL's location and contact ids.
func (d dice) ghlID() string { return d.alnum(20) }

func (d dice) alnum(n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(alnum[d.IntN(len(alnum))])
	}
	return b.String()
}

func (d dice) digits(n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(byte('0' + d.IntN(10)))
	}
	return b.String()
}

// uuid returns a random version-4 UUID string.
func (d dice) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], d.Uint64())
	binary.BigEndian.PutUint64(b[8:], d.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// hexID derives a stable 24-hex id from names, for records that must have
// the same id everywhere they appear (a location's tax rule, say).
func hexID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:12])
}
