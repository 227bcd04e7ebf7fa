"""Noise added the way PhysioNet's ``nst`` adds it (the MIT-BIH Noise Stress Test), in code.

``nst`` (WFDB, G. Moody) calibrates and adds noise like this (read from ``nst.c`` and ``sigamp.c``):

- signal size ``S``: ``sigamp -a atr`` on the clean record: the peak-to-peak amplitude in a window of +-0.05 s
  around each of the first 300 beats that WFDB's ``map1`` calls NORMAL (every supraventricular, bundle branch
  block, paced and unclassifiable beat; not V, E, r, ! or F), from the start of the record, per channel, in ADC
  units; then the 5% trimmed mean (the lowest and highest ``n // 20`` left out), printed with ``%g``;
- noise size ``N``: ``sigamp -r`` on the noise record: the baseline-corrected RMS of each of the first 300
  one-second windows (the window mean subtracted, each difference truncated to an integer), trimmed mean, ``%g``.
  These 300 seconds are the part of the noise record that lies under the clean learning period;
- gain per channel ``g = 10**(-snr/20) * sqrt(2)/4 * S / N``, written into nst's protocol file with ``%g`` (six
  significant digits) and read back: the SNR is ``10 log10((S**2 / 8) / (g N)**2)``, the signal power being
  that of a sine of peak-to-peak amplitude ``S``;
- standard protocol: clean for the first 5 minutes (the learning period), then noisy and clean in turn for
  2 minutes each up to the end of the record (noisy from 5:00, 9:00, ... 29:00 in a 30-minute record);
- output ``vout = trunc(vin - adczero + g * noise - z)`` in C integer arithmetic, the noise sample being the one
  at the same time; at every change of gain ``z = trunc(vin + g_new * noise - vout)`` of the last sample, so that
  the output has no step: the clean segments after a noisy one are therefore shifted by a constant;
- its noise pointer goes back to the start of the noise record one sample early (on the record's last sample),
  and the offset it sets there mixes in the ADC zero it removed: the last output sample is off by about
  ``-adczero`` (``reproduce_nst_wrap``). Otherwise ecgbench treats the noise record as circular and, where it
  wraps, sets the offset by nst's rule for a change (the last sample re-evaluated with the new noise sample),
  so that neither the noise nor the ECG steps there.

``add_noise`` does all of that; with the noise record aligned as nst aligns it (offset 0) it regenerates
PhysioNet's 12 sample records (118e24 ... 119e_6) sample for sample (tests/test_noise.py, docs/noise.md). For
ecgbench's own conditions the noise starts at an offset drawn from the record name and a seed
(``noise_offset``), and the record may be noisy after the learning period throughout (``protocol="whole"``).
``measure_snr`` is nst's measure applied to an output: ``S`` from the clean record, ``N`` from the added part
over the noisy segments.

Digital (integer) input is processed with nst's integer arithmetic; floating-point input (physical units) with
the same formulas without the truncations. Units cancel in the gain, so clean and noise must only share units.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError

NOISE_RECORDS = ("bw", "em", "ma")  # baseline wander, electrode motion, muscle (EMG) artifact
LEARNING_S = 300.0  # nst's standard protocol: 5 clean minutes first ...
SEGMENT_S = 120.0  # ... then 2-minute noisy and clean segments in turn
QRS_WINDOW_S = 0.05  # sigamp -a: peak-to-peak within +-0.05 s of the annotation
RMS_WINDOW_S = 1.0  # sigamp -r: one-second windows
SIGAMP_NMAX = 300  # sigamp makes up to 300 measurements per signal
NST_SNRS_DB = (24, 18, 12, 6, 0, -6)  # PhysioNet's sample records 118eXX and 119eXX
# WFDB ecgmap.h map1: the annotation codes it maps to NORMAL (sigamp -a measures only these beats)
NST_NORMAL_SYMBOLS = frozenset("NLRaJASj/QBenf")


@dataclass(frozen=True)
class NoisyRecord:
    """Output of :func:`add_noise`.

    ``signal``: the noisy signal (n x channels), in the clean signal's units less ``adc_zero`` (as nst writes
    it; add ``adc_zero`` back to read it with the clean record's header). ``gains``: the noise gain applied per
    channel (after nst's ``%g`` rounding). ``signal_amplitude`` / ``noise_rms``: nst's ``S`` and ``N`` per
    channel. ``snr_db``: the requested SNR; ``measured_snr_db``: :func:`measure_snr` on the output.
    ``segments``: the noisy (start, stop) sample ranges; ``noise_offset``: the noise sample added to output
    sample 0; ``noise_channels``: the noise channel added to each output channel.
    """

    signal: np.ndarray
    gains: np.ndarray
    signal_amplitude: np.ndarray
    noise_rms: np.ndarray
    snr_db: float
    measured_snr_db: np.ndarray
    segments: tuple[tuple[int, int], ...]
    noise_offset: int
    noise_channels: tuple[int, ...]

    @property
    def noisy_mask(self) -> np.ndarray:
        mask = np.zeros(len(self.signal), dtype=bool)
        for start, stop in self.segments:
            mask[start:stop] = True
        return mask


def _g(value: float) -> float:
    """A number as C's ``printf("%g")`` prints it (six significant digits), read back: how nst passes S, N and
    the gains between sigamp, its protocol file and itself."""
    return float(f"{value:g}")


def trimmed_mean(values: np.ndarray) -> np.ndarray:
    """sigamp's trimmed mean over axis 0: sorted, the lowest and highest ``n // 20`` left out."""
    values = np.sort(np.asarray(values, dtype=np.float64), axis=0)
    low = len(values) // 20
    if len(values) - 2 * low <= 0:
        raise EcgbenchError("no measurements to average (too few beats or too short a signal)")
    return values[low : len(values) - low].mean(axis=0)


def _as_2d(signal: np.ndarray) -> np.ndarray:
    signal = np.asarray(signal)
    return signal[:, None] if signal.ndim == 1 else signal


def qrs_amplitude(
    signal: np.ndarray,
    samples: Sequence[int],
    symbols: Sequence[str],
    *,
    fs: float,
    nmax: int | None = SIGAMP_NMAX,
    start: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """``sigamp -a``: per channel, the trimmed mean of the peak-to-peak amplitudes within +-0.05 s of the first
    ``nmax`` NORMAL beats (``NST_NORMAL_SYMBOLS``) annotated in ``[start, stop)`` (None: all of them). Like
    sigamp, it stops at the first beat whose window runs off the record."""
    signal = _as_2d(signal)
    half = int(round(QRS_WINDOW_S * fs))  # strtim("0.05"): 18 samples at 360 Hz
    stop = len(signal) if stop is None else stop
    amplitudes = []
    for at, symbol in zip(samples, symbols, strict=True):
        if nmax is not None and len(amplitudes) >= nmax:
            break
        if at < start or at >= stop or symbol not in NST_NORMAL_SYMBOLS:
            continue
        if at - half < 0 or at + half >= len(signal):
            break
        window = signal[at - half : at + half + 1]
        amplitudes.append(window.max(axis=0).astype(np.float64) - window.min(axis=0))
    if not amplitudes:
        raise EcgbenchError("no NORMAL beat annotations to measure the QRS amplitude on")
    return trimmed_mean(np.array(amplitudes))


def _window_rms(window: np.ndarray, integer: bool) -> np.ndarray:
    window = window.astype(np.float64)
    deviation = window - window.mean(axis=0)
    if integer:
        deviation = np.trunc(deviation)  # sigamp: int v = vv - vmean
    return np.sqrt((deviation * deviation).sum(axis=0) / len(window))


def noise_rms(
    signal: np.ndarray,
    *,
    fs: float,
    nmax: int | None = SIGAMP_NMAX,
    segments: Sequence[tuple[int, int]] | None = None,
    truncate: bool | None = None,
) -> np.ndarray:
    """``sigamp -r``: per channel, the trimmed mean of the baseline-corrected RMS of consecutive one-second
    windows: the first ``nmax`` from the start (nst's calibration), or every whole window of each of
    ``segments`` (``nmax`` None: no cap). ``truncate``: each deviation from the window mean truncated to an
    integer, as sigamp does (None: for integer signals). That lowers the RMS of a signal a few ADC units in
    size by a few percent (0.2 dB for em's second channel, RMS 20 ADC units)."""
    signal = _as_2d(signal)
    width = int(round(RMS_WINDOW_S * fs))
    integer = np.issubdtype(signal.dtype, np.integer) if truncate is None else truncate
    segments = [(0, len(signal))] if segments is None else segments
    amplitudes = []
    for start, stop in segments:
        for at in range(start, stop - width + 1, width):
            if nmax is not None and len(amplitudes) >= nmax:
                break
            amplitudes.append(_window_rms(signal[at : at + width], integer))
    if not amplitudes:
        raise EcgbenchError("the noise is shorter than one RMS window")
    return trimmed_mean(np.array(amplitudes))


def snr_to_gain(snr_db: float, signal_amplitude: np.ndarray, noise_amplitude: np.ndarray) -> np.ndarray:
    """nst's gain per channel: ``nsr * S / N`` with ``nsr = 10**(-snr/20) * sqrt(2)/4``, rounded by ``%g``."""
    nsr = pow(10.0, snr_db / -20.0) * np.sqrt(2.0) / 4.0
    return np.array([_g(nsr * s / n) for s, n in zip(signal_amplitude, noise_amplitude, strict=True)])


def protocol_segments(
    n_samples: int,
    fs: float,
    protocol: str = "standard",
    *,
    learning_s: float = LEARNING_S,
    segment_s: float = SEGMENT_S,
) -> tuple[tuple[int, int], ...]:
    """The noisy (start, stop) sample ranges: ``standard``, nst's protocol (clean learning period, then noisy and
    clean segments in turn, the first noisy); ``whole``, noisy from the end of the learning period to the end."""
    t0, dt = int(round(learning_s * fs)), int(round(segment_s * fs))
    if protocol == "whole":
        return ((t0, n_samples),) if t0 < n_samples else ()
    if protocol != "standard":
        raise EcgbenchError(f"unknown noise protocol {protocol!r}: 'standard' or 'whole'")
    return tuple((t, min(t + dt, n_samples)) for t in range(t0, n_samples, 2 * dt))


def noise_offset(record: str, seed: int, n_noise: int) -> int:
    """A noise offset drawn from the record name and the seed alone: the same record and seed always get the
    same noise, another seed other noise (sha256, so neither Python's hash seed nor numpy's version matter)."""
    digest = hashlib.sha256(f"ecgbench-noise:{record}:{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n_noise


def mix_noise(noises: Mapping[str, np.ndarray], weights: Mapping[str, float], *, fs: float = 360.0) -> np.ndarray:
    """A stated mix of noise records (float): each one scaled to unit RMS per channel (sigamp's measure over the
    whole record) and weighted by ``weights[name]`` (RMS amplitude ratios), then summed. Calibrate the sum with
    :func:`add_noise` as for a single noise record."""
    if not weights or set(weights) - set(noises):
        raise EcgbenchError(f"a noise mix needs weights for noises it has: {sorted(weights)} vs {sorted(noises)}")
    lengths = {len(noises[name]) for name in weights}
    if len(lengths) != 1:
        raise EcgbenchError("the noises of a mix must have the same length")
    total = None
    for name, weight in weights.items():
        noise = _as_2d(noises[name])
        part = weight * noise.astype(np.float64) / noise_rms(noise, fs=fs, nmax=None)
        total = part if total is None else total + part
    return total


def add_noise(
    clean: np.ndarray,
    samples: Sequence[int],
    symbols: Sequence[str],
    noise: np.ndarray,
    snr_db: float,
    *,
    fs: float = 360.0,
    protocol: str = "standard",
    offset: int | None = None,
    record: str | None = None,
    seed: int = 0,
    adc_zero: Sequence[float] | float = 0,
    calibration: str = "nst",
    reproduce_nst_wrap: bool = False,
    learning_s: float = LEARNING_S,
    segment_s: float = SEGMENT_S,
) -> NoisyRecord:
    """Noise added to ``clean`` (n x channels) at ``snr_db`` with nst's calibration and arithmetic.

    ``samples``/``symbols``: the clean record's reference annotations (all of them; only NORMAL beats count).
    ``noise``: the noise record's signal (``em``, ``ma``, ``bw`` or :func:`mix_noise`); channel ``i`` gets noise
    channel ``i % noise channels``. ``protocol``: ``standard`` (nst's) or ``whole``. The noise sample added at
    output sample ``t`` is ``noise[(offset + t) % len(noise)]``: ``offset`` as given (0 reproduces nst), else
    :func:`noise_offset` of ``record`` and ``seed``. ``adc_zero``: subtracted from the clean signal, as nst does
    (1024 for MIT-BIH). ``calibration``: ``nst``, ``N`` from the first 300 s of the noise as aligned with the
    output (the part under the learning period, as nst measures it); ``added``, from the noise actually added
    over the noisy segments, so that :func:`measure_snr` gives the requested SNR. ``reproduce_nst_wrap``: the
    last sample as nst makes it (its noise pointer wraps one sample early and the ADC zero slips into the
    offset); otherwise the noise wraps circularly, with nst's no-step offset at the wrap.
    """
    clean = _as_2d(clean)
    n, channels = clean.shape
    noise = _as_2d(noise)
    if len(noise) == 0:
        raise EcgbenchError("empty noise signal")
    integer = np.issubdtype(clean.dtype, np.integer)
    if offset is None:
        if record is None:
            raise EcgbenchError("add_noise needs the noise offset, or the record name (and seed) to draw it")
        offset = noise_offset(record, seed, len(noise))
    offset = int(offset) % len(noise)
    nse = tuple(i % noise.shape[1] for i in range(channels))
    aligned = noise[(offset + np.arange(n)) % len(noise)][:, list(nse)].astype(np.float64)
    wraps = [int(t) for t in np.flatnonzero((offset + np.arange(1, n)) % len(noise) == 0) + 1]
    if reproduce_nst_wrap:
        if offset != 0 or len(noise) < n:
            raise EcgbenchError("nst's wrap is reproduced only with offset 0 and a noise record as long as the record")
        aligned[n - 1] = noise[0][list(nse)]
        wraps = [n - 1]
    quantize = np.trunc if integer else (lambda v: v)
    zero = np.broadcast_to(np.asarray(adc_zero, dtype=np.float64), (channels,))
    vin = clean.astype(np.float64) - zero
    segments = protocol_segments(n, fs, protocol, learning_s=learning_s, segment_s=segment_s)

    amplitude = np.array([_g(a) for a in qrs_amplitude(clean, samples, symbols, fs=fs)])
    measured_noise = aligned.astype(np.int64) if np.issubdtype(noise.dtype, np.integer) else aligned
    if calibration == "nst":
        rms = noise_rms(measured_noise, fs=fs)
    elif calibration == "added":
        rms = noise_rms(measured_noise, fs=fs, nmax=None, segments=segments, truncate=False)
    else:
        raise EcgbenchError(f"unknown noise calibration {calibration!r}: 'nst' or 'added'")
    rms = np.array([_g(v) for v in rms])
    gains = snr_to_gain(snr_db, amplitude, rms)

    # State changes: gain toggles at segment bounds (nst's protocol annotations), offset resets at noise wraps.
    events: dict[int, list[str]] = {}
    for start, stop in segments:
        events.setdefault(start, []).append("on")
        if stop < n:
            events.setdefault(stop, []).append("off")
    for t in wraps:
        events.setdefault(t, []).append("wrap")
    out = np.empty((n, channels), dtype=np.float64)
    gn = np.zeros(channels)
    z = np.zeros(channels)
    at = 0
    for t in sorted(events):
        if t > at:
            out[at:t] = quantize(vin[at:t] + gn * aligned[at:t] - z)
        if t == 0:
            continue
        for kind in events[t]:
            if kind in ("on", "off"):  # nst: z = vin + g_new * noise - vout of the last sample
                gn = gains.copy() if kind == "on" else np.zeros(channels)
                z = quantize(vin[t - 1] + gn * aligned[t - 1] - out[t - 1])
            elif reproduce_nst_wrap:  # nst: z = vin + g * noise - vout, this sample's raw input, the new noise
                z = quantize(vin[t] + zero + gn * aligned[t] - out[t - 1])
            else:  # nst's rule for a change, the last sample re-evaluated with the new noise: no step in the
                z = quantize(vin[t - 1] + gn * aligned[t] - out[t - 1])  # noise, none in the ECG
        at = t
    out[at:] = quantize(vin[at:] + gn * aligned[at:] - z)
    signal = out.astype(np.int64) if integer else out
    measured = measure_snr(clean, signal, samples, symbols, fs=fs, segments=segments, adc_zero=zero)
    return NoisyRecord(
        signal=signal,
        gains=gains,
        signal_amplitude=amplitude,
        noise_rms=rms,
        snr_db=float(snr_db),
        measured_snr_db=measured,
        segments=segments,
        noise_offset=offset,
        noise_channels=nse,
    )


def measure_snr(
    clean: np.ndarray,
    noisy: np.ndarray,
    samples: Sequence[int],
    symbols: Sequence[str],
    *,
    fs: float = 360.0,
    segments: Sequence[tuple[int, int]] | None = None,
    adc_zero: Sequence[float] | float = 0,
    truncate: bool = False,
) -> np.ndarray:
    """nst's SNR (dB) per channel of a noisy output: ``S`` by ``sigamp -a`` on the clean record, ``N`` by
    ``sigamp -r`` on the added part (``noisy - (clean - adc_zero)``) over every whole one-second window of the
    noisy ``segments`` (default: nst's standard protocol); ``10 log10((S**2 / 8) / N**2)``. Constant offsets
    (nst's no-step offsets) do not count: every window is baseline-corrected. ``truncate``: sigamp's
    truncation of each deviation to an integer (off by default: it biases the RMS of small integer noise)."""
    clean, noisy = _as_2d(clean), _as_2d(noisy)
    if clean.shape != noisy.shape:
        raise EcgbenchError(f"clean {clean.shape} and noisy {noisy.shape} signals differ in shape")
    zero = np.broadcast_to(np.asarray(adc_zero, dtype=np.float64), (clean.shape[1],))
    if segments is None:
        segments = protocol_segments(len(clean), fs)
    integer = np.issubdtype(clean.dtype, np.integer) and np.issubdtype(noisy.dtype, np.integer)
    added = noisy.astype(np.float64) - (clean.astype(np.float64) - zero)
    if integer:
        added = np.rint(added).astype(np.int64)
    signal_amplitude = qrs_amplitude(clean, samples, symbols, fs=fs)
    noise_amplitude = noise_rms(added, fs=fs, nmax=None, segments=segments, truncate=truncate)
    return 10.0 * np.log10((signal_amplitude**2 / 8.0) / noise_amplitude**2)


@dataclass(frozen=True)
class WfdbSignal:
    """A WFDB record read in ADC units, with what nst needs from its header and reference annotations."""

    signal: np.ndarray
    fs: float
    adc_zero: np.ndarray
    sig_name: tuple[str, ...]
    samples: np.ndarray
    symbols: tuple[str, ...]


def read_wfdb(path: Path | str, annotator: str | None = "atr") -> WfdbSignal:
    """A record's digital signal (int64), ADC zeros and (``annotator`` not None) annotations."""
    import wfdb

    from ecgbench.core.io import regular_file

    path = Path(path)
    for name in (f"{path.name}.hea", *([f"{path.name}.{annotator}"] if annotator else [])):
        regular_file(path.parent / name)  # a FIFO would block wfdb's reader
    for name in set(wfdb.rdheader(str(path)).file_name or []):
        regular_file(path.parent / name)
    header = wfdb.rdrecord(str(path), physical=False)
    samples, symbols = np.zeros(0, dtype=np.int64), ()
    if annotator is not None:
        annotation = wfdb.rdann(str(path), annotator)
        samples, symbols = np.asarray(annotation.sample, dtype=np.int64), tuple(annotation.symbol)
    return WfdbSignal(
        signal=header.d_signal.astype(np.int64),
        fs=float(header.fs),
        adc_zero=np.asarray(header.adc_zero, dtype=np.float64),
        sig_name=tuple(header.sig_name),
        samples=samples,
        symbols=symbols,
    )


def nst_record(clean_path: Path | str, noise_path: Path | str, snr_db: float, **kwargs) -> NoisyRecord:
    """``nst -i CLEAN NOISE -s SNR`` on WFDB records in ADC units: offset 0, the clean record's ADC zeros
    removed, nst's wrap reproduced (every setting can be overridden through ``kwargs``, passed to
    :func:`add_noise`)."""
    clean, noise = read_wfdb(clean_path), read_wfdb(noise_path, annotator=None)
    if clean.fs != noise.fs:
        raise EcgbenchError(f"sampling frequencies differ ({clean.fs} and {noise.fs} Hz); nst would resample")
    settings = {
        "fs": clean.fs,
        "offset": 0,
        "adc_zero": clean.adc_zero,
        "reproduce_nst_wrap": len(noise.signal) >= len(clean.signal),
        **kwargs,
    }
    return add_noise(clean.signal, clean.samples, clean.symbols, noise.signal, snr_db, **settings)
