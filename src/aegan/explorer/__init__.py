"""``aegan explore``: a page in the browser that looks into a run's latent space (the book's
codings map, semantic interpolation and generation of chapter 17, made live): the model held
once by a small local web server (:mod:`.server`) that answers the page's questions
(:mod:`.answers`)."""

from aegan.explorer.answers import BadRequest, ExploreOptions, Explorer, png
from aegan.explorer.server import ROUTES, ExplorerServer, bind, open_run, serve

__all__ = ["ROUTES", "BadRequest", "ExploreOptions", "Explorer", "ExplorerServer", "bind",
           "open_run", "png", "serve"]
