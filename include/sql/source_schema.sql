-- The rows to label. hitflow only reads this table; its own state lives in schema "hitflow".
-- Columns are nullable on purpose: real sources carry bad rows, and hitflow quarantines them
-- instead of refusing the load.
CREATE TABLE IF NOT EXISTS public.person_images (
    id          bigint PRIMARY KEY,
    person_id   text,
    image_url   text,
    created_at  timestamptz
);
CREATE INDEX IF NOT EXISTS person_images_created_at_idx ON public.person_images (created_at);
