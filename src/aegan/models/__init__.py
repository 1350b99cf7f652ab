"""Model families, one file each; each registers itself with its config dataclass and declares
the capabilities of :mod:`aegan.models.base`."""

# the families register themselves
from aegan.models import (autoencoder, classifier, diffusion, forecaster, gan,  # noqa: F401
                          translator, vae)
from aegan.models.autoencoder import Autoencoder, AutoencoderConfig
from aegan.models.base import (CAPABILITIES, ConditionalSampler, Decoder, Denoiser, Encoder,
                               Grower, IterativeSampler, Labeller, LatentSampler, Likelihood,
                               Model, Needs, Predictor, Reconstructor, Sampler, StyleMixer,
                               Translator, TruncatedSampler, can, evaluating)
from aegan.models.classifier import Classifier, ClassifierConfig
from aegan.models.diffusion import Diffusion, DiffusionConfig
from aegan.models.forecaster import Forecaster, ForecasterConfig
from aegan.models.gan import GAN, GANConfig
from aegan.models.registry import (MODELS, build_model, model_class, model_config_from_dict,
                                   register_model)
from aegan.models.translator import ImageTranslator, TranslatorConfig
from aegan.models.vae import VAE, VAEConfig

__all__ = ["CAPABILITIES", "GAN", "MODELS", "VAE", "Autoencoder", "AutoencoderConfig",
           "Classifier", "ClassifierConfig", "ConditionalSampler", "Decoder", "Denoiser",
           "Diffusion", "DiffusionConfig", "Encoder", "Forecaster", "ForecasterConfig",
           "GANConfig", "Grower", "ImageTranslator", "IterativeSampler", "Labeller",
           "LatentSampler", "Likelihood", "Model", "Needs", "Predictor", "Reconstructor",
           "Sampler", "StyleMixer", "Translator", "TranslatorConfig", "TruncatedSampler",
           "VAEConfig", "build_model", "can", "evaluating", "model_class", "model_config_from_dict",
           "register_model"]
