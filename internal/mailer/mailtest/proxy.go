package mailtest

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what the proxy does to one SMTP connection.
type Fault struct {
	// At is where: a client command by its verb ("EHLO", "AUTH", "MAIL",
	// "RCPT", "DATA", "QUIT") or "." for the end-of-data mark. Empty: the
	// connection passes through untouched.
	At string
	// Reply answers the client with this line (e.g. "451 4.3.0 try
	// later") instead of forwarding the command or the mark to the server.
	Reply string
	// Drop closes the connection. At ".", the mark is forwarded to the
	// server first and its answer withheld: the server has the mail, the
	// client never learns it.
	Drop bool
	// Stall, at ".", forwards the mark and withholds the answer while
	// keeping the connection open, until the client gives up.
	Stall bool
}

// Proxy is a loopback SMTP proxy that injects one fault per connection:
// the n-th connection gets the n-th fault, later ones pass through.
type Proxy struct {
	Addr     string
	upstream string
	ln       net.Listener

	mu     sync.Mutex
	faults []Fault
	conns  int
	open   []net.Conn
}

// NewProxy starts a proxy in front of the SMTP server at upstream; it
// stops when the test ends.
func NewProxy(t testing.TB, upstream string, faults ...Fault) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), upstream: upstream, ln: ln, faults: faults}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Connections counts the connections the proxy took.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// SetFaults replaces the faults of the connections to come (the first of
// them gets faults[0]).
func (p *Proxy) SetFaults(faults ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(make([]Fault, p.conns), faults...)
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		var f Fault
		if p.conns < len(p.faults) {
			f = p.faults[p.conns]
		}
		p.conns++
		p.open = append(p.open, c, up)
		p.mu.Unlock()
		go relay(c, up, f)
	}
}

// relay passes one connection through, line by line from the client (so
// that it knows each command and the end of the data) and as it comes from
// the server, injecting the fault.
func relay(client, up net.Conn, f Fault) {
	defer client.Close()
	defer up.Close()
	var mu sync.Mutex // serialises writes to the client; guards muted
	muted := false
	answered := make(chan struct{}) // the server answered the withheld mark
	go func() {
		defer client.Close()
		buf := make([]byte, 4096)
		for {
			n, err := up.Read(buf)
			mu.Lock()
			wasMuted := muted
			if n > 0 && !muted {
				_, _ = client.Write(buf[:n])
			}
			mu.Unlock()
			if wasMuted && n > 0 {
				close(answered)
				return
			}
			if err != nil {
				return
			}
		}
	}()
	r := bufio.NewReader(client)
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := ""
		switch {
		case inData && line == ".\r\n":
			verb, inData = ".", false
		case !inData:
			verb, _, _ = strings.Cut(strings.TrimSpace(line), " ")
			verb = strings.ToUpper(verb)
		}
		if f.At != "" && verb == f.At {
			switch {
			case f.Reply != "":
				mu.Lock()
				_, _ = client.Write([]byte(f.Reply + "\r\n"))
				mu.Unlock()
				if verb == "." {
					// The server never gets the mark: whatever follows is
					// data to it, and the mail is discarded on close.
					return
				}
				continue
			case verb == "." && (f.Drop || f.Stall):
				mu.Lock()
				muted = true
				mu.Unlock()
				_, _ = up.Write([]byte(line))
				if f.Drop {
					_ = client.Close()
				} else {
					_, _ = r.ReadString(0) // until the client gives up
				}
				// The server has the mail once it answers.
				select {
				case <-answered:
				case <-time.After(10 * time.Second):
				}
				return
			case f.Drop:
				return
			}
		}
		if _, err := up.Write([]byte(line)); err != nil {
			return
		}
		if verb == "DATA" {
			inData = true
		}
	}
}
