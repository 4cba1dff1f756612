-- A sign-in's raw provider event in a column of its own, as the text it came as. Inside `doc`
-- it made every window read of the risk engine take the whole record apart to drop it
-- (`doc - 'raw'`), three times the cost of reading the rest. Rows stored before keep it
-- inside `doc` (and NULL here); readers take either.
ALTER TABLE signins ADD COLUMN raw text;
