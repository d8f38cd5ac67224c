"""Training with Lightning: settings, batches, the LightningModule and the fit loop."""
