-- The relations the up migration removed were the old catch-up's and are
-- not put back (they widened a privacy officer's scope beyond what the
-- institution was party to).
SELECT 1;
