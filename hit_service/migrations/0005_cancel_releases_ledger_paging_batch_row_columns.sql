-- money released by a cancel, ledger paging, batch rows' extra columns, delimiter and duplicates
ALTER TABLE mturk.hits ADD COLUMN released integer NOT NULL DEFAULT 0;  -- slots whose money was given back
ALTER TABLE mturk.hits ADD COLUMN released_at timestamptz;
ALTER TABLE mturk.batches ADD COLUMN cancel_total integer;            -- HITs the cancel goes through
ALTER TABLE mturk.batches ADD COLUMN cancel_done integer NOT NULL DEFAULT 0;
ALTER TABLE mturk.batches ADD COLUMN cancel_finished_at timestamptz;
ALTER TABLE mturk.batches ADD COLUMN extra_columns jsonb NOT NULL DEFAULT '[]';  -- kept, not parameters
ALTER TABLE mturk.batches ADD COLUMN delimiter text NOT NULL DEFAULT ',';
ALTER TABLE mturk.batches ADD COLUMN skipped_rows integer NOT NULL DEFAULT 0;
ALTER TABLE mturk.batch_rows ADD COLUMN skipped boolean NOT NULL DEFAULT false;  -- a duplicate left out
CREATE INDEX ledger_requester_entry ON mturk.ledger (requester, entry_id);
CREATE INDEX ledger_hit ON mturk.ledger (hit_id) WHERE hit_id IS NOT NULL;
CREATE INDEX hits_layout ON mturk.hits (requester, layout_id) WHERE layout_id IS NOT NULL;
