"""The networks of a latent-diffusion audio checkpoint: VAE, UNet and HiFi-GAN vocoder."""
