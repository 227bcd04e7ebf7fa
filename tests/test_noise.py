"""Tests of nst-style noise (ecgbench/data/noise.py; docs/noise.md).

With the data ($ECGBENCH_DATA holding mitdb/ and nstdb/): PhysioNet's 12 sample noise stress test records
(118e24 ... 119e_6, made by ``nstdbgen`` with ``nst -i mitdb/118 nstdb/em -s SNR``) are regenerated from
mitdb/118, mitdb/119 and nstdb/em and compared with the shipped ones sample by sample, in ADC units.
Measured agreement: every one of the 2 x 650,000 samples of each of the 12 records is identical (max absolute
difference 0 ADC units), so the tolerance asserted is zero. Without nst's wrap quirk (``reproduce_nst_wrap``)
only the last sample of each channel differs (by about the removed ADC zero, 1024). The other tests run on a
small synthetic record as well, so that the behaviour is tested where the data are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.data import noise as nz
from ecgbench.data import resolve_data_dir

FS = 360.0
# Tolerances asserted (docs/noise.md): the regenerated records are identical to PhysioNet's (0 ADC units, every
# sample); with calibration="added" the SNR nst's measure finds is the requested one within 0.05 dB (what is
# left is the %g rounding of S, N and the gains, and sigamp's truncation of each deviation to an integer).
MAX_ABS_DIFF_ADC = 0
MIN_IDENTICAL_SHARE = 1.0
SNR_TOLERANCE_DB = 0.05


def sample_record_name(record: str, snr: int) -> str:
    return f"{record}e{snr:02d}" if snr >= 0 else f"{record}e_{-snr}"


@pytest.fixture(scope="module")
def nst_data() -> tuple[Path, Path]:
    if not os.environ.get("ECGBENCH_DATA"):
        pytest.skip(
            "MIT-BIH and Noise Stress Test records not found: set ECGBENCH_DATA to a folder holding "
            "mitdb/ and nstdb/ (CI uses ../shared/data)"
        )
    root = resolve_data_dir()
    mitdb, nstdb = root / "mitdb", root / "nstdb"
    missing = [
        str(p)
        for p in (mitdb / "118.dat", mitdb / "119.dat", nstdb / "em.dat", nstdb / "118e06.dat")
        if not p.is_file()
    ]
    if missing:
        pytest.skip(f"noise stress test data absent under {root}: {', '.join(missing)} (see data/SOURCES.md)")
    pytest.importorskip("wfdb")
    return mitdb, nstdb


@pytest.fixture(scope="module")
def em(nst_data) -> nz.WfdbSignal:
    return nz.read_wfdb(nst_data[1] / "em", annotator=None)


@pytest.fixture(scope="module")
def clean_records(nst_data) -> dict[str, nz.WfdbSignal]:
    return {record: nz.read_wfdb(nst_data[0] / record) for record in ("118", "119")}


@pytest.mark.parametrize("record", ["118", "119"])
@pytest.mark.parametrize("snr", nz.NST_SNRS_DB)
def test_regenerates_physionet_sample_record(nst_data, record, snr):
    shipped = nz.read_wfdb(nst_data[1] / sample_record_name(record, snr))
    noisy = nz.nst_record(nst_data[0] / record, nst_data[1] / "em", snr)
    difference = noisy.signal - shipped.signal
    identical = float((difference == 0).mean())
    max_abs = int(np.abs(difference).max())
    print(
        f"{sample_record_name(record, snr)}: identical {identical:.6f}, max |diff| {max_abs} ADC units, "
        f"gains {noisy.gains}, measured SNR {np.round(noisy.measured_snr_db, 2)} dB"
    )
    assert noisy.signal.shape == shipped.signal.shape == (650_000, 2)
    assert identical >= MIN_IDENTICAL_SHARE and max_abs <= MAX_ABS_DIFF_ADC
    assert noisy.noise_offset == 0 and noisy.segments[0] == (108_000, 151_200) and len(noisy.segments) == 7
    # nst copies the clean record's reference annotations. The copies shipped with nstdb predate PhysioNet's
    # revision of mitdb's annotations: the same beats and labels, but in 119 35 V beats sit up to 0.1 s apart.
    reference = nz.read_wfdb(nst_data[0] / record)
    assert shipped.symbols == reference.symbols
    moved = np.flatnonzero(shipped.samples != reference.samples)
    assert {reference.symbols[i] for i in moved} <= {"V"} and len(moved) <= 35
    assert np.all(np.abs(shipped.samples[moved] - reference.samples[moved]) <= 0.1 * FS)


def test_nst_wrap_quirk_is_the_last_sample_only(nst_data):
    plain = nz.nst_record(nst_data[0] / "118", nst_data[1] / "em", 6, reproduce_nst_wrap=False)
    shipped = nz.read_wfdb(nst_data[1] / "118e06").signal
    assert np.array_equal(plain.signal[:-1], shipped[:-1])
    slip = plain.signal[-1] - shipped[-1]
    assert np.all((900 <= slip) & (slip <= 1100))  # nst's last sample: the removed ADC zero slips into its offset


def test_calibration_is_sigamps(clean_records, em):
    """S and N as sigamp measures them (ADC units): the values nst used, which the exact match confirms."""
    assert np.allclose(
        nz.qrs_amplitude(
            clean_records["118"].signal, clean_records["118"].samples, clean_records["118"].symbols, fs=FS
        ),
        [548.619, 440.211],
        atol=5e-4,
    )
    assert np.allclose(nz.noise_rms(em.signal, fs=FS), [65.4789, 20.3516], atol=5e-5)
    assert np.allclose(nz.snr_to_gain(6, [548.619, 440.211], [65.4789, 20.3516]), [1.48465, 3.83281])


def test_measured_snr_of_the_shipped_records(nst_data, clean_records, em):
    """nst calibrates N on the first 300 s of em, which lie under the clean learning period; in the noisy
    segments em's first channel is stronger, so by nst's own measure the shipped records are noisier there than
    their names say: the shortfall is the ratio of the two RMS values, the same at every SNR."""
    clean = clean_records["119"]
    segments = nz.protocol_segments(len(clean.signal), FS)
    calibration = nz.noise_rms(em.signal, fs=FS)  # sigamp's, as nst measured it: truncated deviations
    in_segments = nz.noise_rms(em.signal, fs=FS, nmax=None, segments=segments, truncate=False)
    ratio_db = 20 * np.log10(calibration / in_segments)
    for snr in (12, 0):
        shipped = nz.read_wfdb(nst_data[1] / sample_record_name("119", snr)).signal
        measured = nz.measure_snr(clean.signal, shipped, clean.samples, clean.symbols, fs=FS, adc_zero=1024)
        assert np.allclose(measured - snr, ratio_db, atol=0.1), (measured, ratio_db)
    assert ratio_db[0] < -4 and abs(ratio_db[1]) < 1


@pytest.mark.parametrize("snr", [24, 6, -6])
def test_added_calibration_gives_the_requested_snr(clean_records, em, snr):
    clean = clean_records["118"]
    for protocol in ("standard", "whole"):
        noisy = nz.add_noise(
            clean.signal,
            clean.samples,
            clean.symbols,
            em.signal,
            snr,
            fs=FS,
            record="118",
            seed=3,
            adc_zero=1024,
            calibration="added",
            protocol=protocol,
        )
        assert np.all(np.abs(noisy.measured_snr_db - snr) <= SNR_TOLERANCE_DB), noisy.measured_snr_db
        again = nz.measure_snr(
            clean.signal, noisy.signal, clean.samples, clean.symbols, fs=FS, segments=noisy.segments, adc_zero=1024
        )
        assert np.array_equal(again, noisy.measured_snr_db)


# --- synthetic record: runs without the data ---------------------------------------------------------------


def synthetic_record(seconds: float = 900.0, seed: int = 0):
    """Two channels of spiky beats (float, mV-like) with N and V annotations, and a two-channel random walk
    plus white noise as the noise record."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    beats = np.arange(int(0.5 * FS), n - int(0.5 * FS), int(0.8 * FS))
    symbols = ["V" if i % 7 == 6 else "N" for i in range(len(beats))]
    t = np.arange(n)
    clean = np.zeros((n, 2))
    for at, symbol in zip(beats, symbols, strict=True):
        width = 12.0 if symbol == "V" else 4.0
        clean[:, 0] += np.exp(-0.5 * ((t - at) / width) ** 2) * (1.5 if symbol == "V" else 1.0)
        clean[:, 1] -= 0.5 * np.exp(-0.5 * ((t - at) / width) ** 2)
    clean += rng.normal(0, 0.01, clean.shape)
    noise = np.cumsum(rng.normal(0, 0.02, (n, 2)), axis=0) + rng.normal(0, 0.1, (n, 2))
    return clean, beats, symbols, noise


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_record()


@pytest.mark.parametrize("snr", [12, 0])
def test_synthetic_added_calibration_snr(synthetic, snr):
    clean, beats, symbols, noise = synthetic
    noisy = nz.add_noise(clean, beats, symbols, noise, snr, fs=FS, record="r1", calibration="added")
    assert np.all(np.abs(noisy.measured_snr_db - snr) <= SNR_TOLERANCE_DB)
    # the signal size is that of the NORMAL beats only: V beats (larger) are not measured
    assert np.allclose(noisy.signal_amplitude, [1.0, 0.5], atol=0.02)


def test_standard_protocol_noisy_and_clean_segments(synthetic):
    clean, beats, symbols, noise = synthetic
    offset = len(noise) - 170_000  # the noise record wraps at output sample 170,000, in a clean segment
    noisy = nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, offset=offset)
    added = noisy.signal - clean
    assert noisy.segments == ((108_000, 151_200), (194_400, 237_600), (280_800, 324_000))
    assert np.array_equal(noisy.signal[:108_000], clean[:108_000])  # learning period untouched
    for start, stop in noisy.segments:  # noisy: the scaled noise record, shifted by nst's no-step offset
        expected = noisy.gains * noise[(offset + np.arange(start, stop)) % len(noise)]
        residual = added[start:stop] - expected
        assert np.allclose(residual, residual[0], atol=1e-9)
        assert abs(added[start, 0] - added[start - 1, 0]) < 2 * noisy.gains[0] * np.abs(np.diff(noise[:, 0])).max()
    for start, stop in [(151_200, 194_400), (237_600, 280_800)]:  # clean: a constant
        assert np.allclose(added[start:stop], added[start], atol=1e-9)
    assert not np.allclose(added[151_200], 0)  # ... which is not zero: nst avoids steps, not offsets


def test_whole_record_option(synthetic):
    clean, beats, symbols, noise = synthetic
    standard = nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, offset=99)
    whole = nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, offset=99, protocol="whole")
    assert whole.segments == ((108_000, len(clean)),)
    assert np.array_equal(whole.signal[:108_000], clean[:108_000])
    added = whole.signal - clean
    wrap = len(noise) - 99  # noise sample 0 is added at output sample len - 99
    residual = added[108_000:] - whole.gains * noise[(99 + np.arange(108_000, len(clean))) % len(noise)]
    before, after = residual[: wrap - 108_000], residual[wrap - 108_000 :]
    assert np.allclose(before, before[0], atol=1e-9) and np.allclose(after, after[0], atol=1e-9)
    assert np.allclose(added[wrap], added[wrap - 1], atol=1e-9)  # no step where the noise wraps
    # every one-second window after the learning period carries noise, and more of it than the standard protocol
    windows = added[108_000:].reshape(-1, 360, 2)
    assert np.all(windows.std(axis=1) > 0.1 * whole.gains * 0.1)
    assert np.array_equal(whole.gains, standard.gains)  # same calibration (nst's: the first 300 s)
    assert np.array_equal(whole.signal[:151_200], standard.signal[:151_200])  # the same first noisy segment
    assert not np.allclose(whole.signal[151_200:194_400], standard.signal[151_200:194_400])


def test_deterministic_noise_offsets(synthetic):
    clean, beats, symbols, noise = synthetic
    a = nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, record="118", seed=1)
    b = nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, record="118", seed=1)
    c = nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, record="118", seed=2)
    d = nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, record="119", seed=1)
    assert a.noise_offset == b.noise_offset == nz.noise_offset("118", 1, len(noise))
    assert np.array_equal(a.signal, b.signal)
    assert len({a.noise_offset, c.noise_offset, d.noise_offset}) == 3
    assert not np.allclose(a.signal[108_000:151_200], c.signal[108_000:151_200])
    assert not np.allclose(a.signal[108_000:151_200], d.signal[108_000:151_200])
    offsets = {nz.noise_offset("118", seed, 650_000) for seed in range(50)}
    assert len(offsets) == 50 and all(0 <= o < 650_000 for o in offsets)
    with pytest.raises(EcgbenchError):
        nz.add_noise(clean, beats, symbols, noise, 6, fs=FS)  # neither an offset nor a record to draw it from


def test_integer_arithmetic_and_wrap_without_step(synthetic):
    clean, beats, symbols, noise = synthetic
    digital = np.rint(clean * 200).astype(np.int64) + 1024
    digital_noise = np.rint(noise * 200).astype(np.int64)
    offset = len(noise) - 200_000  # the noise wraps at output sample 200,000, inside a clean segment ...
    noisy = nz.add_noise(digital, beats, symbols, digital_noise, 0, fs=FS, offset=offset, adc_zero=1024)
    assert noisy.signal.dtype == np.int64
    assert np.array_equal(noisy.signal[:108_000], digital[:108_000] - 1024)
    offset = len(noise) - 120_000  # ... and at 120,000, inside a noisy one: nst's offset keeps it step-free
    noisy = nz.add_noise(digital, beats, symbols, digital_noise, 0, fs=FS, offset=offset, adc_zero=1024)
    added = noisy.signal - (digital - 1024)
    jump = abs(added[120_000] - added[119_999])
    assert np.all(jump <= np.abs(np.diff(added[108_000:119_999], axis=0)).max(axis=0) + 1)
    assert np.all(np.abs(noisy.measured_snr_db) < 20)


def test_noise_mix(synthetic):
    _, _, _, noise = synthetic
    other = np.random.default_rng(5).normal(0, 3.0, noise.shape)
    single = nz.mix_noise({"a": noise, "b": other}, {"a": 1.0}, fs=FS)
    assert np.allclose(nz.noise_rms(single, fs=FS, nmax=None), 1.0, atol=1e-9)
    mix = nz.mix_noise({"a": noise, "b": other}, {"a": 1.0, "b": 1.0}, fs=FS)
    assert mix.shape == noise.shape and not np.allclose(mix, single)
    with pytest.raises(EcgbenchError):
        nz.mix_noise({"a": noise}, {"c": 1.0})


def test_bad_protocol_and_calibration(synthetic):
    clean, beats, symbols, noise = synthetic
    with pytest.raises(EcgbenchError):
        nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, offset=0, protocol="sometimes")
    with pytest.raises(EcgbenchError):
        nz.add_noise(clean, beats, symbols, noise, 6, fs=FS, offset=0, calibration="guess")
