"""sheetcrm's cache files (cache_file.py): parts read only when asked for, from the file as it
was loaded, and any damage is no cache (or one part less), never an error."""

from __future__ import annotations

import gc
import os
import pickle
import tracemalloc

from sheetcrm import cache_file

VERSION = ("code", 1)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_parts_are_read_when_asked_and_a_load_holds_none_of_their_bytes(tmp_path) -> None:
    path = tmp_path / "memo.rows"
    parts = {("Leads", b"k1"): os.urandom(4_000_000), "small": b"x", 3: b""}
    assert cache_file.save(path, VERSION, parts)
    tracemalloc.start()
    try:
        loaded = cache_file.load(path, VERSION)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 100_000  # an index, not 4 MB of parts
    assert loaded is not None and list(loaded) == list(parts)
    assert {name: part.read() for name, part in loaded.items()} == parts
    assert loaded[("Leads", b"k1")].size == 4_000_000


def test_a_loaded_part_reads_the_file_it_came_from_after_a_save_over_it(tmp_path) -> None:
    """A sync's own save renames a new file over the path; the parts it still holds (its
    retry after a conflicting write, a service's next plan) read what they were."""
    path = tmp_path / "memo.rows"
    cache_file.save(path, VERSION, {"a": b"old a", "b": b"old b"})
    old = cache_file.load(path, VERSION)
    assert old is not None
    cache_file.save(path, VERSION, {"b": old["b"], "c": b"new c"})  # b copied from the old file
    assert old["a"].read() == b"old a" and old["b"].read() == b"old b"
    new = cache_file.load(path, VERSION)
    assert new is not None and {n: p.read() for n, p in new.items()} == {"b": b"old b", "c": b"new c"}


def test_the_file_is_closed_once_no_part_of_it_is_held(tmp_path) -> None:
    path = tmp_path / "memo.rows"
    cache_file.save(path, VERSION, {"a": b"1", "b": b"2"})
    gc.collect()  # files an earlier test left to the collector are closed now, not in the counts below
    before = _fds()
    loaded = cache_file.load(path, VERSION)
    part = loaded["a"]
    del loaded
    gc.collect()
    assert _fds() == before + 1 and part.read() == b"1"
    del part
    gc.collect()
    assert _fds() == before
    for damage in (b"", b"garbage", b"x" * 100):  # a load that finds no cache keeps nothing open
        path.write_bytes(damage)
        assert cache_file.load(path, VERSION) is None
    gc.collect()
    assert _fds() == before


def test_damage_other_versions_and_a_file_cut_short_are_no_cache_or_one_part_less(tmp_path) -> None:
    path = tmp_path / "memo.rows"
    cache_file.save(path, VERSION, {"a": b"A" * 1000, "b": b"B" * 1000})
    whole = path.read_bytes()
    assert cache_file.load(path, ("other code", 1)) is None
    assert cache_file.load(tmp_path / "missing.rows", VERSION) is None
    for damage in (b"", whole[:20], whole[:-1], whole[:-24] + b"\xff" * 8 + whole[-16:],  # index beyond
                   b"\x00" * 1000 + whole[-24:], pickle.dumps((VERSION, {"a": b"A"}))):
        path.write_bytes(damage)
        assert cache_file.load(path, VERSION) is None, damage[:40]
    # A file truncated in place after it was loaded (its index already read): the part cut off
    # raises when read, and a save leaves it out.
    path.write_bytes(whole)
    loaded = cache_file.load(path, VERSION)
    os.truncate(path, 1500)
    assert loaded["a"].read() == b"A" * 1000
    try:
        loaded["b"].read()
        raise AssertionError("a part cut off was read")
    except ValueError:
        pass
    again = tmp_path / "again.rows"
    assert cache_file.save(again, VERSION, loaded)
    assert {n: p.read() for n, p in cache_file.load(again, VERSION).items()} == {"a": b"A" * 1000}


def test_a_folder_that_cannot_be_written_is_no_save_never_an_error(tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root writes anyway: a file where the folder should be
            folder.chmod(0o700)
            folder.rmdir()
            folder.write_bytes(b"not a folder")
        assert cache_file.save(folder / "memo.rows", VERSION, {"a": b"1"}) is False
    finally:
        if folder.is_dir():
            folder.chmod(0o700)


def test_a_flipped_bit_anywhere_is_no_cache_or_one_part_less_never_other_bytes(tmp_path) -> None:
    """Every part and the index carry a CRC-32: a bit flipped on the disk (a pickle that still
    loads after a flip can hold another value) is caught on the read, wherever it falls."""
    import random

    path = tmp_path / "memo.rows"
    parts = {("Leads", b"k" * 16): pickle.dumps([("Owner = Diego Ruiz", i) for i in range(200)]),
             ("Deals", b"d" * 16): pickle.dumps({"amount": 1250, "stage": "Proposal"}), "empty": b""}
    assert cache_file.save(path, VERSION, parts)
    whole = path.read_bytes()
    rng = random.Random(26)
    positions = sorted({*rng.sample(range(len(whole)), 400), *range(len(whole) - 40, len(whole))})
    caught = 0
    for at in positions:
        damaged = bytearray(whole)
        damaged[at] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        loaded = cache_file.load(path, VERSION)
        if loaded is None:
            caught += 1
            continue
        for name, part in loaded.items():
            try:
                assert part.read() == parts[name], (at, name)
            except ValueError:
                caught += 1
    assert caught >= len(positions)  # each flip was caught, by the index's check or a part's
