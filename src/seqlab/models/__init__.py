"""Networks as plain nn.Modules: reusable parts and one model per archetype."""
