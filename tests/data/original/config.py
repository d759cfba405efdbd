# config.py
# Test copy of the Python original's config.py LAYOUT (satoruisaka/TwistedPic): the same names,
# statement kinds, value shapes and placeholders, in the same order; comments and the template's
# wording are this project's own.

import os

# File locations
OUTPUT_DIR = "outputs"
os.makedirs(OUTPUT_DIR, exist_ok=True)

# TwistedPair V2 API settings
TWISTEDPAIR_URL = "http://gpu-box:8001"
TWISTEDPAIR_TIMEOUT = 90  # seconds

# Ollama settings
OLLAMA_URL = "http://localhost:11434"

# GPU Memory Management Settings
GPU_MEMORY_CLEANUP = True

# Move the model to the CPU after each image
UNLOAD_MODEL_AFTER_GENERATION = True

# TwistedPair distortion settings
DISTORTION_MODES = [
    "invert_er",    # one
    "so_what_er",   # two
    "echo_er",      # three
    "what_if_er",   # four
    "cucumb_er",    # five
    "archiv_er"     # six
]

DISTORTION_TONES = [
    "neutral",
    "technical",
    "primal",
    "poetic",
    "satirical"
]

# Default distortion settings
DEFAULT_DISTORTION = {
    "mode": "invert_er",
    "tone": "poetic",
    "gain": 7,
    "model": "mistral:latest"
}

# Prompt wrapper template for image generation
# {distorted} is the text from TwistedPair
PROMPT_WRAPPER_TEMPLATE = "Digital art, highly detailed: {distorted}, 4k"

# Available image models
IMAGE_MODELS = {
    "flux_dev": {
        "name": "Flux.1-dev",
        "model_id": "black-forest-labs/FLUX.1-dev",
        "pipeline_type": "flux",
        "default": False,
        "optimal_steps": 25,
        "optimal_guidance": 3.5,
        "max_sequence_length": 512,  # long prompts
        "notes": "slow on some cards"
    },
    "sd3_large": {
        "name": "Stable Diffusion 3.5 Large",
        "model_id": "stabilityai/stable-diffusion-3.5-large",
        "pipeline_type": "sd3",
        "default": True,
        "optimal_steps": 28,
        "optimal_guidance": 4.5,
        "max_sequence_length": 256
    },
    "sdxl_base": {
        "name": "SDXL Base 1.0",
        "model_id": "stabilityai/stable-diffusion-xl-base-1.0",
        "pipeline_type": "sdxl",
        "default": False,
        "optimal_steps": 30,
        "optimal_guidance": 7.5,
        "max_sequence_length": 77
    }
}

# Default image generation parameters
DEFAULT_IMAGE_PARAMS = {
    "num_inference_steps": 28,      # per model: see IMAGE_MODELS
    "guidance_scale": 4.5,
    "resolution": (1024, 768),      # width x height
    "seed": 1234,
    "use_random_seed": False,       # True = random
    "negative_prompt": None
}

# Available resolutions
RESOLUTIONS = {
    "landscapesm": (512, 384),
    "landscape": (1024, 768),
    "portrait": (768, 1024),
    "square": (1024, 1024),
    "wide": (1344, 768),
    "tall": (768, 1344)
}

# Image quality/style slider ranges
QUALITY_STEPS_RANGE = (10, 50)     # num_inference_steps
STYLE_CFG_RANGE = (1.0, 10.0)      # guidance_scale

# ============================================================================
# Prompt Refiner Configuration
# ============================================================================

# LLM model for refining TwistedPair output into visual keywords
REFINER_MODEL = "llama3.1:8b"

# Number of visual keywords to extract
REFINER_TARGET_KEYWORDS = 25

# Prompt template for refinement (expects {target_keywords} and {distorted_prompt})
REFINER_PROMPT_TEMPLATE = """List {target_keywords} visual keywords for an image generator.

Only things one can see: objects, colours, light, style. Comma-separated, nothing else.

Text:
{distorted_prompt}

Visual keywords:"""

# Flask server settings
FLASK_HOST = "0.0.0.0"
FLASK_PORT = 5000
FLASK_DEBUG = True
