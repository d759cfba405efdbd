# TwistedPic (Python original) configuration
import os

OUTPUT_DIR = "outputs"  # relative to this file
os.makedirs(OUTPUT_DIR, exist_ok=True)

# GPU memory
GPU_MEMORY_CLEANUP = True
UNLOAD_MODEL_AFTER_GENERATION = True

OLLAMA_URL = "http://localhost:11434"
TWISTEDPAIR_URL = 'http://gpu-box:8001'
TWISTEDPAIR_TIMEOUT = 90

DEFAULT_DISTORTION = {
    "mode": "invert_er",   # rhetorical operation
    "tone": "poetic",
    "gain": 7,
    "model": "mistral:latest",
}

PROMPT_WRAPPER_TEMPLATE = " ;{distorted}; "
REFINER_MODEL = "llama3.1:8b"
REFINER_TARGET_KEYWORDS = 25
REFINER_PROMPT_TEMPLATE = """Turn this text into {count} visual keywords:
{text}
Keywords:"""

DEFAULT_IMAGE_PARAMS = {
    "steps": 28,
    "guidance": 4.5,
    "resolution": (1024, 768),
    "seed": 1234,
    "random_seed": False,
    "extra": {"nested": [1, 2, (3, 4)]},
}

RESOLUTIONS = [(512, 384), (1024, 768), (768, 1024), (1024, 1024), (1344, 768), (768, 1344)]

IMAGE_MODELS = {
    "SD 3.5 Large": "stabilityai/stable-diffusion-3.5-large",
    "SD 1.5": "runwayml/stable-diffusion-v1-5",
}

SECRET_KEY = os.environ.get("SECRET", "dev")
if os.name == "nt":
    OUTPUT_DIR = "C:/out"
DEBUG = False
