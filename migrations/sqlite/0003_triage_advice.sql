-- The triage assistant's whole advice (issue 13) beside its annotation: the contract's fields,
-- the rewrites the code forced and the drafts it filed, as one JSON object, so that the audit
-- entry recording the annotation carries them too.

ALTER TABLE triage_annotations ADD COLUMN advice TEXT;
