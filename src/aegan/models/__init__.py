"""Model families, one file each; each registers itself with its config dataclass."""

from aegan.models import autoencoder, classifier, gan, vae  # noqa: F401  (register the families)
from aegan.models.autoencoder import Autoencoder, AutoencoderConfig
from aegan.models.base import Model
from aegan.models.classifier import Classifier, ClassifierConfig
from aegan.models.gan import GAN, GANConfig
from aegan.models.registry import MODELS, build_model, model_config_from_dict, register_model
from aegan.models.vae import VAE, VAEConfig

__all__ = ["GAN", "MODELS", "VAE", "GANConfig", "Autoencoder", "AutoencoderConfig", "Classifier", "ClassifierConfig",
           "Model", "VAEConfig", "build_model", "model_config_from_dict", "register_model"]
