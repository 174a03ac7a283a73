-- Proof of possession: the public half of the activation credential registered at activation.
-- Validations, extensions and rebinds must be signed by its private half.
ALTER TABLE licenses ADD COLUMN holder_key TEXT;
