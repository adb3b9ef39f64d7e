"""Data preparation: benchmarks and translated training sets into verl's parquet schema.

``load_records`` (:mod:`.sources`) -> ``build_rows`` (:mod:`.build`, applying :mod:`.templates`
and :mod:`.schema`) -> ``write_parquet``. Command line: ``scripts/prepare_data.py``. AdaMame's RL
prompts (translated DAPO-Math-17k, the authors' release): :mod:`.dapo_math`; the difficulty filter
that keeps prompts a model solves sometimes is an offline job: :mod:`verl_multiling.jobs.difficulty`
(``scripts/difficulty_filter.py``).
"""

from verl_multiling.data_prep.build import build_rows, language_counts, split_rows, write_parquet
from verl_multiling.data_prep.schema import SchemaError, make_row, validate_rows
from verl_multiling.data_prep.sources import DATASETS, Record, load_records, mmath_dir
from verl_multiling.data_prep.templates import LANGUAGES, RECIPES, build_messages, render_prompt

__all__ = [
    "DATASETS",
    "LANGUAGES",
    "RECIPES",
    "Record",
    "SchemaError",
    "build_messages",
    "build_rows",
    "language_counts",
    "load_records",
    "make_row",
    "mmath_dir",
    "render_prompt",
    "split_rows",
    "validate_rows",
    "write_parquet",
]
