"""The authors' own checkpoints (AudioLDM's Lightning `.ckpt`, AudioLDM 2's `.pth`) read into our modules.

Their state dicts name the original code's modules (`model.diffusion_model.input_blocks.1.0.in_layers.2`,
`first_stage_model.encoder.down.0.block.1.nin_shortcut`, ...); ours follow the diffusers layout the engine
loads (`down_blocks.0.resnets.0.conv1`). One module per part maps one to the other from the original
config, so every key is accounted for: a key left over or missing is an error that names it.

- `unet.py`: openaimodel's UNetModel -> engine/models/unet.py (config and names).
- `vae.py`: the LDM AutoencoderKL -> engine/models/vae.py.
- `vocoder.py`: HiFi-GAN with weight norm -> engine/models/vocoder.py (the norm folded into the weights).
"""
