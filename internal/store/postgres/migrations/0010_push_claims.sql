-- The attempt holding a push: a fresh token per claim, checked when the
-- attempt records how it ended, so that an attempt whose lease ran out
-- (and whose push another attempt took) changes nothing.
ALTER TABLE fulfillment_pushes ADD COLUMN claim TEXT NOT NULL DEFAULT '';
