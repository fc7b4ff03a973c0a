package syncer

import (
	"context"
	"time"
)

// LocationState is where a location's sync stands, as the store records it.
type LocationState struct {
	BackfillDone  bool      `json:"backfillDone"`
	BackfillPhase string    `json:"backfillPhase,omitempty"`
	BackfillFrom  time.Time `json:"backfillStartedAt,omitzero"`
	LastPoll      time.Time `json:"lastPollStartedAt,omitzero"`
	LastWalk      time.Time `json:"lastWalkDoneAt,omitzero"`
	WalkRunning   bool      `json:"walkRunning"`
}

// State reads a location's sync checkpoints.
func (s *Syncer) State(ctx context.Context, loc string) (LocationState, error) {
	var st LocationState
	var back, walk walkCursor
	var poll pollCursor
	if ok, err := s.loadCursor(ctx, loc, cursorBackfill, &back); err != nil {
		return st, err
	} else if ok {
		st.BackfillDone, st.BackfillFrom = !back.DoneAt.IsZero(), back.StartedAt
		if !st.BackfillDone {
			st.BackfillPhase = back.Phase
		}
	}
	if ok, err := s.loadCursor(ctx, loc, cursorPoll, &poll); err != nil {
		return st, err
	} else if ok {
		st.LastPoll = poll.LastStartedAt
	}
	if ok, err := s.loadCursor(ctx, loc, cursorWalk, &walk); err != nil {
		return st, err
	} else if ok {
		st.LastWalk, st.WalkRunning = walk.DoneAt, walk.DoneAt.IsZero()
	}
	return st, nil
}
