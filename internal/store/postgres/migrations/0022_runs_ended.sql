-- The automation runs that ended, by when: serve prunes those older than
-- --run-retention (with their steps), and without this each pruning would
-- read every run.
CREATE INDEX automation_runs_ended ON automation_runs (finished_at) WHERE status IN ('succeeded', 'failed', 'skipped', 'canceled');
