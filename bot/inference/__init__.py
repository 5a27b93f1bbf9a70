"""The inference engine: loading the model, generating answers one at a time or in continuous batches."""
