"""Loading and running models: the causal-LM core, devices and dtypes, scoring, hub access,
diffusion UNet sampling, torch imports."""
