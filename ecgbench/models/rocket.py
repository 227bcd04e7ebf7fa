"""ROCKET and MiniRocket (sktime transformers) with a linear classifier that scales to 100k beats.

Dempster et al. 2020 (ROCKET) and 2021 (MiniRocket) pair the random-kernel features with a ridge classifier for
small data and with logistic regression trained by stochastic gradient descent for large data. We use the second
everywhere: its cost grows linearly with the number of beats, it gives class probabilities, and its epochs let the
validation part choose when to stop. By default the SGD weights are averaged over all updates (Polyak-Ruppert
averaging), which removes most of the noise that plain SGD leaves in the last weights. Transforms run in chunks so that
memory stays bounded and progress is shown, over the cell's threads (sktime's ``n_jobs``: each beat is transformed by
one thread, so the features do not depend on how many there are).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ecgbench.core.params import Param
from ecgbench.core.progress import BeatProgress
from ecgbench.core.threads import current_threads
from ecgbench.models import register
from ecgbench.models.base import Model, sample_weights

# Where `list` and `run --all` put this module's models (ecgbench.core.registry.listing_rank): as before discovery.
LISTED_AT = 2

log = logging.getLogger(__name__)


def log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None))))


class RandomKernelModel(Model):
    """Shared pipeline: random-kernel transform -> standardise -> SGD logistic regression with early stopping.

    Imbalance: beats are weighted by inverse class frequency raised to ``class_weight_power`` (0.5 by default, a
    tempered weighting that lifts the rare S and F classes without flooding N with false alarms). The beat's
    context features (RR intervals), where the dataset has them, join the kernel features before standardising.

    Memory: the training features are the one large array (79,000 beats x ~10,000 MiniRocket features would be
    3.2 GB in float32). They are stored in float16 (1.6 GB; the features are proportions and maxima of order 1, and
    float16 keeps ~3 significant digits, far finer than the differences a linear model can use), written chunk by
    chunk into one preallocated array and never copied: the standardisation (in float32) and the shuffling of each
    epoch are applied per mini-batch, and test beats are transformed and classified chunk by chunk.
    """

    needs = ("sktime",)

    uses_context = True

    default_params = {
        # averaged SGD at 1e-5: docs/decisions.md#rocket-averaged-sgd (mitdb-inter: #rocket-plain-sgd-inter)
        "alpha": Param(1e-5, above=0, search=(1e-6, 1e-2), log=True),
        "average": Param(True, search_choices=(True, False)),
        "max_epochs": Param(40, low=1),
        "patience": Param(5, low=0),  # epochs without a better validation loss before stopping
        "class_weight_power": Param(0.5, low=0, search=(0.0, 1.5)),
        "chunk_size": Param(2000, low=1),  # beats per transform chunk and per SGD mini-batch
        # The few context features (RR intervals) stand among thousands of kernel features under one L2
        # penalty; scaled up after standardising, they cost the penalty less and are not drowned out.
        "context_scale": Param(10.0, above=0, search=(1.0, 30.0), log=True),
    }

    def make_transformer(self):
        raise NotImplementedError

    def chunks(self, n: int):
        size = self.params["chunk_size"]
        return [slice(begin, min(begin + size, n)) for begin in range(0, n, size)]

    def warm_up(self, length: int) -> None:
        """Compile sktime's numba functions on a few stand-in beats of the beats' length, timed apart from the fit
        (``compile_seconds``): with numba's on-disk cache warm (:func:`ecgbench.core.cache.use_numba_cache`) this
        only loads them. The class's own transformer, so that a stand-in set by the tuning cache is not asked."""
        start = time.perf_counter()
        stand_in = np.random.default_rng(0).standard_normal((4, 1, length))
        type(self).make_transformer(self).fit(stand_in).transform(stand_in)
        self.timings["compile_seconds"] = time.perf_counter() - start

    def kernel_features(self, beats: np.ndarray, transformer, extra: int = 0) -> np.ndarray:
        """float16 kernel features of ``beats`` (no context columns) from the fitted ``transformer``, ``chunk_size``
        beats at a time, in a matrix with ``extra`` columns left free at its end (the context, joined without a copy
        of the matrix, which at 200,000 beats is gigabytes)."""
        out, progress = None, BeatProgress(f"{self.name}: transform", len(beats))
        for part in self.chunks(len(beats)):
            block = np.asarray(transformer.transform(beats[part, None, :].astype(np.float64)), dtype=np.float16)
            if out is None:
                out = np.empty((len(beats), block.shape[1] + extra), dtype=np.float16)
            out[part, : block.shape[1]] = block
            progress.add(part.stop - part.start)
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Kernel features of the beats of ``X``, followed by its context columns (if any), as float16."""
        start = time.perf_counter()
        beats, context = self.split_context(X)
        out = self.kernel_features(beats, self.transformer, self.n_context)
        if context is not None:
            out[:, -self.n_context :] = context
        self.timings["transform_seconds"] = self.timings.get("transform_seconds", 0.0) + time.perf_counter() - start
        return out

    def timed_transform(self, X: np.ndarray, label: str) -> np.ndarray:
        start = time.monotonic()
        features = self.transform(X)
        log.info("%s: transformed %d %s beats in %.1f s", self.name, len(X), label, time.monotonic() - start)
        return features

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """``(features - mean) / scale`` in float32 (float16 features widen exactly), into one new array: every SGD
        mini-batch of every epoch passes here, so no intermediate copies."""
        out = np.subtract(features, self.mean_, dtype=np.float32)
        out /= self.scale_
        return out

    def _fit(self, X, y, X_val, y_val):
        from sklearn.linear_model import SGDClassifier

        beats = self.split_context(X)[0]
        self.warm_up(beats.shape[1])
        start = time.perf_counter()
        self.transformer = self.make_transformer().fit(beats[:, None, :].astype(np.float64))
        self.timings["transform_seconds"] = time.perf_counter() - start  # fitting the kernels' biases: a transform
        features = self.timed_transform(X, "training")
        self.mean_, self.scale_ = column_mean_std(features, self.chunks(len(features)))
        if self.n_context:
            self.scale_[-self.n_context :] /= self.params["context_scale"]
        # Without validation beats (none given, or an empty part) nothing can tell when to stop: every one of
        # max_epochs epochs runs and the last weights are kept, which averaged SGD makes a sound choice
        # (docs/decisions.md#fit-without-validation).
        has_val = X_val is not None and len(X_val) > 0
        val_features = self.standardise(self.timed_transform(X_val, "validation")) if has_val else None
        self.seen = np.unique(y)
        weights = sample_weights(y, self.n_classes, self.params["class_weight_power"])
        # n_jobs: the classes' one-against-the-rest problems on the cell's threads; each class draws its seed before
        # they are shared out, so the weights do not depend on the threads (docs/decisions.md#rocket-sgd-threads)
        classifier = SGDClassifier(
            loss="log_loss",
            alpha=self.params["alpha"],
            average=self.params["average"],
            random_state=self.seed,
            n_jobs=current_threads(),
        )
        rng = np.random.default_rng(self.seed)
        best, best_loss, waited = None, np.inf, 0
        for epoch in range(1, self.params["max_epochs"] + 1):
            order = rng.permutation(len(y))
            for part in self.chunks(len(y)):
                batch = order[part]
                classifier.partial_fit(
                    self.standardise(features[batch]), y[batch], classes=self.seen, sample_weight=weights[batch]
                )
            if not has_val:
                continue
            loss = log_loss(self.full_proba(classifier.predict_proba(val_features), self.seen), y_val)
            log.debug("%s epoch %d: val_loss %.4f", self.name, epoch, loss)
            if loss < best_loss - 1e-4:
                best, best_loss, waited = (classifier.coef_.copy(), classifier.intercept_.copy()), loss, 0
            elif (waited := waited + 1) >= self.params["patience"]:
                break
        if has_val:
            classifier.coef_, classifier.intercept_ = best
            log.info(
                "%s: logistic regression stopped after %d epochs (best val_loss %.4f)", self.name, epoch, best_loss
            )
        else:
            log.info("%s: no validation beats: all %d epochs run, last weights kept", self.name, epoch)
        self.classifier = classifier

    def _predict_proba(self, X):
        start = time.monotonic()
        proba = self.in_pieces(
            X,
            self.predict_chunk_size or self.params["chunk_size"],
            lambda part: self.classifier.predict_proba(self.standardise(self.transform(part))),
            f"{self.name}: transform and classify",
        )
        seconds = time.monotonic() - start
        log.info("%s: transformed and classified %d test beats in %.1f s", self.name, len(X), seconds)
        return self.full_proba(proba, self.seen)

    # -- saving: the kernels, the scaler and the linear weights as numpy arrays, the rest as JSON -------------
    def _save(self, folder):
        from ecgbench.core.io import write_json
        from ecgbench.models.saving import save_arrays

        c = self.classifier
        save_arrays(
            folder / "weights.npz",
            {
                **{f"kernel_{k}": v for k, v in self.kernel_arrays().items()},
                "mean": self.mean_,
                "scale": self.scale_,
                "coef": c.coef_,
                "intercept": c.intercept_,
            },
        )
        write_json(
            folder / "linear.json",
            {
                "seen_classes": self.seen.tolist(),
                "classes_": c.classes_.tolist(),
                "n_features_in": int(c.n_features_in_),
                "beat_length": int(self.n_columns_ - self.n_context),
            },
        )

    def _load(self, folder):
        import json

        from sklearn.linear_model import SGDClassifier

        from ecgbench.models.saving import load_arrays

        arrays = load_arrays(folder / "weights.npz")
        meta = json.loads((folder / "linear.json").read_text(encoding="utf-8"))
        # The transformer fitted on a few stand-in beats of the right length gives its structure; its kernels are
        # then replaced by the saved ones (nothing else of a fit reaches transform).
        dummy = np.random.default_rng(0).standard_normal((4, 1, meta["beat_length"]))
        self.transformer = self.make_transformer().fit(dummy)
        self.set_kernel_arrays({k[len("kernel_") :]: v for k, v in arrays.items() if k.startswith("kernel_")})
        self.mean_, self.scale_ = arrays["mean"], arrays["scale"]
        self.seen = np.asarray(meta["seen_classes"], dtype=np.int64)
        classifier = SGDClassifier(
            loss="log_loss", alpha=self.params["alpha"], average=self.params["average"], random_state=self.seed
        )
        classifier.coef_, classifier.intercept_ = arrays["coef"], arrays["intercept"]
        classifier.classes_ = np.asarray(meta["classes_"], dtype=np.int64)
        classifier.n_features_in_ = meta["n_features_in"]
        classifier.t_ = 1.0  # marks it fitted for scikit-learn's checks (predicting does not use it)
        self.classifier = classifier

    def kernel_arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def set_kernel_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


def column_mean_std(features: np.ndarray, parts) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation (1 where constant), accumulated in float64 chunk by chunk."""
    total = np.zeros(features.shape[1])
    squares = np.zeros(features.shape[1])
    for part in parts:
        block = features[part].astype(np.float64)
        total += block.sum(axis=0)
        squares += (block**2).sum(axis=0)
    mean = total / len(features)
    std = np.sqrt(np.maximum(squares / len(features) - mean**2, 0))
    return mean.astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32)


@register("minirocket")
class MiniRocketModel(RandomKernelModel):
    """MiniRocket (Dempster et al. 2021): ~10,000 features from fixed convolution kernels, almost deterministic."""

    description = "sktime MiniRocket features + SGD logistic regression"
    default_params = {
        **RandomKernelModel.default_params,  # 84: MiniRocket's minimum
        "num_kernels": Param(10_000, low=84, search_choices=(2_500, 5_000, 10_000)),
    }
    quick_params = {"num_kernels": 1_000, "max_epochs": 10}

    def make_transformer(self):
        from sktime.transformations.panel.rocket import MiniRocket

        return MiniRocket(num_kernels=self.params["num_kernels"], random_state=self.seed, n_jobs=current_threads())

    PARTS = ("dilations", "num_features_per_dilation", "biases")

    def kernel_arrays(self):
        return dict(zip(self.PARTS, self.transformer.parameters, strict=True))

    def set_kernel_arrays(self, arrays):
        self.transformer.parameters = tuple(arrays[name] for name in self.PARTS)


@register("rocket")
class RocketModel(RandomKernelModel):
    """ROCKET (Dempster et al. 2020): random dilated kernels, two features (max, PPV) per kernel."""

    description = "sktime ROCKET features + SGD logistic regression"
    # 10,000 kernels is the paper's default; 2,000 keeps the default CPU run short at a small cost in accuracy.
    default_params = {
        **RandomKernelModel.default_params,
        "num_kernels": Param(2_000, low=1, search_choices=(1_000, 2_000, 5_000)),
    }
    quick_params = {"num_kernels": 200, "max_epochs": 10}

    def make_transformer(self):
        from sktime.transformations.panel.rocket import Rocket

        return Rocket(num_kernels=self.params["num_kernels"], random_state=self.seed, n_jobs=current_threads())

    PARTS = ("weights", "lengths", "biases", "dilations", "paddings", "num_channel_indices", "channel_indices")

    def kernel_arrays(self):
        kernels = self.transformer.kernels
        if len(kernels) != len(self.PARTS):
            raise RuntimeError(f"sktime's Rocket holds {len(kernels)} kernel arrays, expected {len(self.PARTS)}")
        return dict(zip(self.PARTS, kernels, strict=True))

    def set_kernel_arrays(self, arrays):
        self.transformer.kernels = tuple(arrays[name] for name in self.PARTS)
