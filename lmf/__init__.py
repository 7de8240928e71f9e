"""lmf: shrink a text classifier's embedding by low-rank factorization (the paper's online LMF), retrain
it with CALR, export it, serve it without torch. The public API, in the order a run uses it:

    import lmf
    data = lmf.load_dataset("sst2")                                  # or a folder of train/dev/test files
    model = lmf.new_model("dan", len(data.vocab), len(data.label_names))
    model = lmf.train_model(model, data, lmf.recipe("dan")).model    # Adam under CALR, best-on-dev weights
    small = lmf.compress_with(model, "lmf", 90, data.vocab)          # SVD at eq. 5's rank for R = 90 %
    small = lmf.train_model(small, data, lmf.retrain_recipe("dan")).model
    lmf.save_model("runs/dan-r90", small, data.vocab, data.label_names)
    lmf.export_model("runs/dan-r90", "runs/dan-r90-onnx", precision="int8")
    lmf.Predictor("runs/dan-r90-onnx").predict(["a gorgeous , witty , seductive movie ."])

  data         load_dataset (sst2, clinc150 or a directory) -> TextDataset (.vocab, .label_names)
  models       new_model (DAN or LSTM), load_model -> SavedModel (.model, .vocab, ...), save_model
  training     train_model(model, data, config) -> TrainResult (.model, .best_dev, .history);
               TrainConfig, recipe(arch), retrain_recipe(arch): the tuned settings
  compression  compress_with(model, method, R, vocab): any method of the registry METHODS, on an
               lmf model; factorize_embeddings / groupreduce_embeddings / quantize_embeddings:
               the nn.Embedding and nn.EmbeddingBag layers of any torch model, in place, with
               save_compressed / load_compressed / restore_embeddings to keep the result
  schedules    CALR, CLR: torch LRSchedulers for a training loop of one's own
  measuring    accuracy(model, data, split), count_parameters(model), classify(model, vocab, labels, texts)
  deploying    export_model(saved model dir, out, precision=...), export_trained(model, vocab,
               labels, out, precision=...), Predictor(export dir): numpy and onnxruntime only
  searching    autotune_model(data, "dan", out, max_drop=1.0, ...): the smallest export within
               max_drop points (lmf.autotune.autotune, the CLI's `autotune`)

Every name but compress_with is the library's own function or class (train_model is
lmf.train.train, autotune_model is lmf.autotune.autotune), loaded on first use (PEP 562's module
__getattr__): `import lmf` loads only the standard library, and `lmf.Predictor` loads numpy and
onnxruntime, never torch. No public name is the name of a submodule: importing lmf.train sets the
package's attribute `train` to that module, which would replace a function of that name.

Deliberately not here: any logic beyond compress_with's checks (the modules named in _EXPORTS
hold it), and the sweep or the app (the packages `sweep` and `studio` import lmf, never the reverse).
"""
import importlib

# public name -> (lmf module, its attribute); every module named here is of the library tier.
_EXPORTS = {
    "load_dataset": ("data", "load_dataset"),
    "new_model": ("models", "new_model"),
    "load_model": ("artifacts", "load_model"),
    "save_model": ("artifacts", "save_model"),
    "TrainConfig": ("train", "TrainConfig"),
    "recipe": ("train", "recipe"),
    "retrain_recipe": ("train", "retrain_recipe"),
    "train_model": ("train", "train"),
    "METHODS": ("methods", "METHODS"),
    "factorize_embeddings": ("embeddings", "factorize_embeddings"),
    "groupreduce_embeddings": ("embeddings", "groupreduce_embeddings"),
    "quantize_embeddings": ("embeddings", "quantize_embeddings"),
    "restore_embeddings": ("embeddings", "restore_embeddings"),
    "save_compressed": ("embeddings", "save_compressed"),
    "load_compressed": ("embeddings", "load_compressed"),
    "CALR": ("schedules", "CALR"),
    "CLR": ("schedules", "CLR"),
    "accuracy": ("metrics", "accuracy"),
    "count_parameters": ("metrics", "count_parameters"),
    "classify": ("metrics", "classify"),
    "export_model": ("export", "export_model"),
    "export_trained": ("export", "export_trained"),
    "Predictor": ("runtime", "Predictor"),
    "autotune_model": ("autotune", "autotune"),
}
__all__ = ["compress_with", *_EXPORTS]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value  # found directly from now on
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def compress_with(model, method, reduction, vocab):
    """A compressed copy of `model`, an lmf DAN or LSTM (new_model, load_model(...).model), made by
    `method` of the registry METHODS at R = `reduction` percent of the embedding's parameters
    removed; `vocab` is the model's vocabulary (GroupReduce reads its word counts). The methods:
    "lmf" (the paper's online LMF: the truncated SVD at eq. 5's rank), "hmf", "groupreduce",
    "lmf_whole" (the DAN's dense layers too), "quant8" / "quant16" (post-training fixed point; R
    means nothing there: pass 0 or None), and the "+ int8" stacks ("lmf_int8" ...), which quantize
    the retrained model of the method they stack on, to be passed as `model`. The original is not
    changed. Retrain what the method's `retrains` says (train_model with retrain_recipe(arch)).

    ValueError for a name the registry lacks or that makes no model from another (trained from
    scratch, or a reference), a method that does not apply to the model's architecture, or a model
    that is not lmf's: any other torch model takes factorize_embeddings and its siblings."""
    methods = importlib.import_module(f"{__name__}.methods").METHODS
    chosen = methods.get(method)
    if chosen is None or chosen.make is None:
        makers = ", ".join(name for name, m in methods.items() if m.make is not None)
        raise ValueError(f"method {method!r} makes no model from another; choose one of {makers}")
    config = getattr(model, "config", None)
    if not isinstance(config, dict) or "arch" not in config:
        raise ValueError(f"{type(model).__name__} is not an lmf model (it has no config); compress the "
                         "embeddings of any torch model with lmf.factorize_embeddings, groupreduce_embeddings "
                         "or quantize_embeddings")
    if config["arch"] not in chosen.archs:
        raise ValueError(f"{chosen.label} applies to {' and '.join(chosen.archs)} models, not {config['arch']}")
    if chosen.reduction == "none":
        if reduction not in (0, None):
            raise ValueError(f"{chosen.label} keeps every parameter: R means nothing here, pass 0 or None "
                             f"(got {reduction!r})")
        reduction = 0
    return chosen.make(model, reduction, vocab)
