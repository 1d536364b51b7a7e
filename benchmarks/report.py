"""Offline evaluation of the cached benchmark results: picks, regrets, tables.

``python benchmarks/report.py [DIR]`` prints the tables from the cached ``DIR/*.json``
(default ``benchmarks/results``) without training anything; ``bench_finder.py`` adds the
refits at the proposed picks.
"""

import inspect
import itertools
import json
import sys
from functools import partial
from pathlib import Path

import _checkout  # noqa: F401  (first: this checkout's sklearn_lrf)
import numpy as np
from curve_rules import plateau_start, smoothed_minimum
from peer_rules import lightning, lightning_curve, torch_lr_finder, torch_lr_finder_curve

from sklearn_lrf.finder import DEFAULT_RULE
from sklearn_lrf.rules import divergence_onset

RESULTS = Path(__file__).resolve().parent / "results"
CLASSIC = ["lag_corrected", "minimum", "steepest", "valley", "slide"]
PEERS = ["torch-lr-finder", "lightning", "lightning<21055"]
# Column headings of the regret table.
SHORT = {"lag_corrected": "lag_corr", "torch-lr-finder": "torch-lrf", "lightning<21055": "lt<21055"}
# Landmarks of the wide ramp's raw curve, their smoothing fixed in advance (0.2 decade: 5
# points at 15 per decade, as the package's median_window counts them). A rule is a landmark
# times a factor, the factor fitted as 10 ** median(log10(oracle rate / landmark)) over the
# problems it is not evaluated on.
LANDMARKS = {
    "centred minimum": partial(smoothed_minimum, sigma_decades=0.2, median_decades=0.2),
    "plateau start": partial(plateau_start, sigma_decades=0.2, median_decades=0.2, fraction=0.1),
    "divergence onset": partial(divergence_onset, median_decades=0.2, threshold=4.0, factor=1.0),
}
PROPOSED = "divergence onset"
# The race (issue part 5): candidates around the pick, each trained for this fraction of the
# budget (at least one epoch).
RACE_FACTORS = (1 / 3, 1.0, 3.0)
RACE_FRACTION = 0.2
# The package's divergence_onset factor (its default: 10 ** -1.33, fitted on all 24 problems),
# applied to the cached wide ramps: the simulation without the held-out fit.
SHIPPED_FACTOR = inspect.signature(divergence_onset).parameters["factor"].default
OLD_RAMP = "old ramp: 1e-7 to 10, 100 steps (the default before 5e7505a)"
# Issue #8's targets.
TARGETS = dict(median=1.02, worst=1.15, score_gap=0.01, cost=0.05)


def grid_loss(record, epoch=-1):
    """Grid rates with a finite mean validation loss after ``epoch``, and that loss."""
    rates = np.asarray(record["grid_rates"])
    losses = np.asarray(record["grid_losses"], dtype=float)[:, :, epoch].mean(axis=1)
    return rates, losses


def loss_at(record, rate, epoch=-1):
    """Mean validation loss at ``rate``, interpolated in (log rate, log loss) on the grid.

    Below the grid: the lowest rate's loss. Above the last finite rate: inf when the grid ended
    on a divergence, else the last rate's loss.
    """
    rates, losses = grid_loss(record, epoch)
    if not np.isfinite(rate):
        return np.inf
    finite = np.isfinite(losses)
    last = int(np.flatnonzero(finite)[-1])
    if rate > rates[last] * (1 + 1e-9):
        return np.inf if last < len(rates) - 1 else losses[last]
    rates, losses = rates[: last + 1], losses[: last + 1]
    return float(np.exp(np.interp(np.log(rate), np.log(rates), np.log(losses))))


def oracle(record):
    rates, losses = grid_loss(record)
    best = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan)))
    return rates[best], losses[best]


def regret(record, rates):
    """Mean over seeds of the loss at each seed's pick over the oracle's loss."""
    best = oracle(record)[1]
    return float(np.mean([loss_at(record, rate) / best for rate in rates]))


def neighbour_regret(record):
    """The smaller regret of the oracle's two neighbours on the grid (a quarter decade away):
    how sharp the optimum is, a floor for any pick that misses it by that much."""
    best = oracle(record)[0]
    return min(regret(record, [best * 10**0.25]), regret(record, [best / 10**0.25]))


def below_grid(record, rates):
    return any(rate < record["grid_rates"][0] for rate in rates)


def classic_picks(record, ramp="default_ramp"):
    """Each classic and peer rule's pick per seed, on one ramp."""
    picks = {rule: [] for rule in CLASSIC + PEERS}
    for curve in record[ramp]:
        for rule in CLASSIC:
            picks[rule].append(curve["suggestions"][rule])
        lrs = np.asarray(curve["learning_rates"])
        history = torch_lr_finder_curve(np.asarray(curve["losses"]))
        picks["torch-lr-finder"].append(torch_lr_finder(lrs[: len(history)], history))
        recorded = lightning_curve(np.asarray(curve["losses"]))
        picks["lightning"].append(lightning(lrs[: len(recorded)], recorded))
        picks["lightning<21055"].append(lightning(lrs[: len(recorded)], recorded, wrt_lr=False))
    return picks


def wide_picks(record, rule, ramp="wide_ramp"):
    """A rule's pick on each seed's curve of one ramp (raw losses)."""
    return [
        rule(np.asarray(curve["learning_rates"]), np.asarray(curve["losses"]))
        for curve in record[ramp]
    ]


def shipped_picks(record):
    """The shipped default's pick (``result.best_lr``) per seed; None before it was measured."""
    shipped = record.get("shipped")
    return None if shipped is None else [ramp["best_lr"] for ramp in shipped["ramps"]]


def grid_updates(record):
    """Updates of the oracle grid for one seed: rates x epochs x mini-batches."""
    batches = -(-record["n_train"] // record["batch_size"])
    return len(record["grid_rates"]) * record["epochs"] * batches


def shipped_cost(record):
    """Updates of the shipped default ramp (mean over seeds) over the oracle grid's."""
    return np.mean([r["n_updates"] for r in record["shipped"]["ramps"]]) / grid_updates(record)


def race_epochs(record, fraction=RACE_FRACTION):
    return max(1, round(fraction * record["epochs"]))


def race(record, picks, factors=RACE_FACTORS, fraction=RACE_FRACTION):
    """Per seed: train ``pick * factor`` for each factor for ``fraction`` of the budget and
    keep the rate with the lowest validation loss (read off the oracle's per-epoch losses)."""
    epochs = race_epochs(record, fraction)
    return [
        min((pick * f for f in factors), key=lambda rate: loss_at(record, rate, epochs - 1))
        if np.isfinite(pick)
        else pick
        for pick in picks
    ]


def fmt(value, lower_bound=False):
    if not np.isfinite(value):
        return "div"
    if value >= 100:
        return ">=100"
    return ("<" if lower_bound else "") + f"{value:.3f}"


def log_ratios(records, landmark):
    """Per problem, the seeds' landmarks and log10(oracle rate / their geometric mean)."""
    picks = [np.asarray(wide_picks(r, LANDMARKS[landmark]), dtype=float) for r in records]
    ratios = [
        np.log10(oracle(r)[0]) - np.mean(np.log10(p)) for r, p in zip(records, picks, strict=True)
    ]
    return picks, np.asarray(ratios)


def held_out_picks(records, landmark=PROPOSED):
    """Per problem, the seeds' picks: landmark x the factor fitted on the other problems."""
    picks, ratios = log_ratios(records, landmark)
    return [p * 10 ** np.median(np.delete(ratios, j)) for j, p in enumerate(picks)]


def held_out_rules(records, landmark=PROPOSED):
    """Per problem, the rule with its factor fitted on the other problems."""
    _, ratios = log_ratios(_arrays(records), landmark)
    factors = [10 ** np.median(np.delete(ratios, j)) for j in range(len(records))]
    return [partial(LANDMARKS[landmark], factor=factor) for factor in factors]


def proposed_factor(records, landmark=PROPOSED):
    """The factor fitted on all problems."""
    return float(10 ** np.median(log_ratios(records, landmark)[1]))


def _arrays(records):
    """The grid losses as arrays (read many times)."""
    for record in records:
        record["grid_losses"] = np.asarray(record["grid_losses"], dtype=float)
    return records


def report(records):
    """Every table, as text."""
    records = _arrays(records)
    held = held_out_picks(records)
    raced = [race(r, p) for r, p in zip(records, held, strict=True)]
    factor = proposed_factor(records)
    proposed = partial(LANDMARKS[PROPOSED], factor=factor)

    has_shipped = all(shipped_picks(r) is not None for r in records)
    columns = (["shipped"] if has_shipped else []) + CLASSIC + PEERS + ["DoG", "proposed", "+race"]
    header = f"{'problem':<27}{'n':>6}{'1/L':>9}{'oracle':>9}{'nbr':>7}" + "".join(
        f"{SHORT.get(c, c):>10}" for c in columns
    )
    commit = records[0].get("shipped", {}).get("package_commit")
    group = f"{'|<- ' + OLD_RAMP:<{10 * len(CLASSIC + PEERS)}}|"
    lines = [
        "Regret (validation loss at the pick / oracle's). shipped: the package as it is now"
        + (f" (sklearn_lrf at {commit})" if commit else "")
        + ", lr_range_test(estimator, X, y) with every default, its best_lr (rule "
        f"{DEFAULT_RULE}); classic and peer rules on the {OLD_RAMP}, lag_corr being "
        f"the old default; proposed (the simulation behind the new default): {PROPOSED} on the "
        "wide ramp x a factor fitted on the other problems; +race: then a race of x1/3, x1, x3 "
        "on 20% of the budget. nbr: the better of the oracle's grid neighbours; <: pick below "
        "the grid (lower bound); div: diverged",
        " " * (58 + (10 if has_shipped else 0)) + group,
        header,
        "-" * len(header),
    ]
    all_regrets = {c: [] for c in columns}
    for record, held_picks, raced_picks in zip(records, held, raced, strict=True):
        picks = classic_picks(record)
        cells = []
        if has_shipped:
            shipped = shipped_picks(record)
            value = regret(record, shipped)
            all_regrets["shipped"].append(value)
            cells.append(fmt(value, below_grid(record, shipped)))
        for rule in CLASSIC + PEERS:
            value = regret(record, picks[rule])
            all_regrets[rule].append(value)
            cells.append(fmt(value, below_grid(record, picks[rule])))
        dog = record.get("dog")
        value = np.mean(dog) / oracle(record)[1] if dog else np.nan
        all_regrets["DoG"].append(value)
        cells.append(fmt(value) if dog else "-")
        for column, rule_picks in (("proposed", held_picks), ("+race", raced_picks)):
            value = regret(record, rule_picks)
            all_regrets[column].append(value)
            cells.append(fmt(value, below_grid(record, rule_picks)))
        auto = record["auto_rate"]
        lines.append(
            f"{record['name']:<27}{record['n_train']:>6}"
            f"{(f'{auto:.2g}' if auto else '-'):>9}{oracle(record)[0]:>9.2g}"
            f"{neighbour_regret(record):>7.3f}" + "".join(f"{c:>10}" for c in cells)
        )
    lines.append("-" * len(header))
    for label, stat in (
        ("median", np.median),
        ("worst", np.max),
        ("over 1.15", lambda v: np.sum(v > 1.15)),
    ):
        cells = []
        for c in columns:
            values = np.asarray([v for v in all_regrets[c] if not np.isnan(v)])
            value = stat(values)
            cells.append(f"{value:d}" if label == "over 1.15" else fmt(value))
        lines.append(f"{label:<58}" + "".join(f"{c:>10}" for c in cells))
    lines.append(
        f"\nProposed rule fitted on all problems: {PROPOSED} x {factor:.3g} "
        f"(10^{np.log10(factor):.2f})"
    )
    if has_shipped:
        lines += [""] + shipped_table(records, held)
    lines += [""] + landmark_table(records)
    lines += [""] + race_table(records, held)
    if all("raced" in r for r in records):
        lines += [""] + raced_table(records)
    lines += [""] + wide_classic_table(records)
    lines += [""] + search_table(records)
    lines += [""] + data_dependence(records, proposed)
    lines += [""] + seed_spread(records, proposed)
    lines += [""] + budget_drift(records)
    if has_shipped:
        lines += [""] + targets(records, all_regrets)
    return "\n".join(lines)


def _ema_minimum(curve):
    """Rate at the minimum of the finder's moving average over its usable range."""
    smoothed = np.asarray(curve["smoothed_losses"], dtype=float)
    start = len(smoothed) // 10
    return curve["learning_rates"][start + int(np.nanargmin(smoothed[start:]))]


def landmark_table(records):
    """How far each curve landmark sits from the oracle's rate, across problems."""
    lines = [
        "log10(oracle rate / landmark) across problems (landmark: geometric mean over seeds): "
        "median, standard deviation; held-out regret of landmark x 10^(median of the other "
        "problems)",
    ]
    rows = {
        "moving-average min (default ramp)": [
            np.asarray([_ema_minimum(c) for c in r["default_ramp"]]) for r in records
        ],
        "moving-average min (wide ramp)": [
            np.asarray([_ema_minimum(c) for c in r["wide_ramp"]]) for r in records
        ],
    }
    rows.update({f"{name} (wide ramp)": log_ratios(records, name)[0] for name in LANDMARKS})
    rows[f"{PROPOSED} (default ramp)"] = [
        np.asarray(wide_picks(r, LANDMARKS[PROPOSED], "default_ramp")) for r in records
    ]
    for name, picks in rows.items():
        ratios = np.asarray(
            [
                np.log10(oracle(r)[0]) - np.mean(np.log10(p))
                for r, p in zip(records, picks, strict=True)
            ]
        )
        held = np.asarray(
            [
                regret(r, p * 10 ** np.median(np.delete(ratios, j)))
                for j, (r, p) in enumerate(zip(records, picks, strict=True))
            ]
        )
        lines.append(
            f"  {name:<36} {np.median(ratios):+.2f} {ratios.std():>5.2f}   held out: median "
            f"{np.median(held):.3f}, {(held > 1.15).sum():>2} over 1.15"
        )
    return lines


def race_table(records, held):
    """Regret and cost of races of several shapes after the held-out curve rule."""
    lines = [
        "Races after the proposed rule (held out): candidates pick x factors, each trained for a "
        "fraction of the budget; the lowest validation loss wins. Regret median / worst, "
        "problems over 1.15, cost (race updates / grid updates) median / worst",
    ]
    for factors in ((1 / 3, 1, 3), (1 / 4, 1 / 2, 1, 2, 4), (1 / 10, 1 / 3, 1, 3, 10)):
        for fraction in (0.1, 0.2, 0.34):
            regrets, costs = [], []
            for record, seed_picks in zip(records, held, strict=True):
                regrets.append(regret(record, race(record, seed_picks, factors, fraction)))
                epochs = race_epochs(record, fraction)
                costs.append(len(factors) * epochs / (len(record["grid_rates"]) * record["epochs"]))
            regrets = np.asarray(regrets)
            shown = "/".join(f"{f:.2g}" for f in factors)
            lines.append(
                f"  x{shown:<22} {fraction:>4.0%} of the budget: {np.median(regrets):.3f} / "
                f"{fmt(regrets.max())}, {(regrets > 1.15).sum():>2} over 1.15, cost "
                f"{np.median(costs):.1%} / {np.max(costs):.1%}"
            )
    return lines


def race_updates(record, run):
    """Updates of one real race: candidates x its epochs x mini-batches of each split's
    training part (a mini-batch: the problem's, at most the training part)."""
    budget = run["budget"]
    epochs = budget.get("max_iter", budget.get("max_epochs"))
    batches = sum(-(-n // min(record["batch_size"], n)) for n in run["train_sizes"])
    return len(run["learning_rates"]) * epochs * batches


def raced_table(records):
    """The race as the package runs it (LRFinderSearch(race=RACE_FACTORS)) against its own
    curve's picks, the simulated race from the same picks, and the shipped default."""
    header = (
        f"{'problem':<27}{'curve':>9}{'race':>9}{'sim race':>9}{'shipped':>9}"
        f"{'win/pick':>9}{'race':>7}{'total':>7}{'score':>9}"
    )
    lines = [
        "The race measured (LRFinderSearch(estimator, race=(1/3, 1, 3)), race_budget 0.2, every "
        "other default, random_state=seed): curve: regret of the search's own curve pick (the "
        "search without the race); race: of the race's winner (candidates trained on 80% of the "
        "training part, scored on the other 20%); sim race: the simulated race (report.race, "
        "validation losses of the grid) from the same curve picks; shipped: lr_range_test's "
        "picks. win/pick: winner over curve pick (geometric mean over seeds). Cost as a fraction "
        "of the grid's updates (mean over seeds): the race alone, and ramp + race. score: seed "
        "0's refit at the winner minus nested GridSearchCV's validation score",
        header,
        "-" * len(header),
    ]
    columns = {"curve": [], "race": [], "sim race": [], "shipped": []}
    race_costs, total_costs, gaps = [], [], []
    for record in records:
        runs = record["raced"]["runs"]
        curve = [run["curve_lr"] for run in runs]
        winners = [run["best_lr"] for run in runs]
        picks = dict(
            curve=curve,
            race=winners,
            **{"sim race": race(record, curve)},
            shipped=shipped_picks(record),
        )
        values = {name: regret(record, rates) for name, rates in picks.items()}
        for name, value in values.items():
            columns[name].append(value)
        grid = grid_updates(record)
        race_cost = np.mean([race_updates(record, run) for run in runs]) / grid
        total = np.mean([race_updates(record, run) + run["ramp_updates"] for run in runs]) / grid
        race_costs.append(race_cost)
        total_costs.append(total)
        gaps.append(runs[0]["score"] - record["grid_score"])
        moved = float(np.exp(np.mean(np.log(winners)) - np.mean(np.log(curve))))
        lines.append(
            f"{record['name']:<27}"
            + "".join(
                f"{fmt(values[name], below_grid(record, rates)):>9}"
                for name, rates in picks.items()
            )
            + f"{moved:>9.2f}{race_cost:>7.1%}{total:>7.1%}{gaps[-1]:>+9.4f}"
        )
    lines.append("-" * len(header))
    for label, stat in (
        ("median", np.median),
        ("worst", np.max),
        ("over 1.15", lambda v: int(np.sum(np.asarray(v) > TARGETS["worst"]))),
    ):
        cells = "".join(
            f"{stat(v):>9d}" if label == "over 1.15" else f"{fmt(stat(v)):>9}"
            for v in columns.values()
        )
        lines.append(f"{label:<27}{cells}")
    race_costs, total_costs, gaps = map(np.asarray, (race_costs, total_costs, gaps))
    lines.append(
        f"Cost: race alone median {np.median(race_costs):.1%}, at most {race_costs.max():.1%}; "
        f"ramp + race median {np.median(total_costs):.1%}, at most {total_costs.max():.1%}, "
        f"{int((total_costs <= TARGETS['cost']).sum())} of {len(records)} problems within "
        f"{TARGETS['cost']:.0%}. Problems more than {TARGETS['score_gap']} below nested "
        f"GridSearchCV's score: {int((gaps < -TARGETS['score_gap']).sum())} (shipped "
        f"{sum(search_gap(r) < -TARGETS['score_gap'] for r in records)})"
    )
    return lines


def wide_classic_table(records):
    """Median and worst regret of the classic and peer rules on the wide ramp."""
    regrets = {rule: [] for rule in CLASSIC + PEERS}
    for record in records:
        picks = classic_picks(record, "wide_ramp")
        for rule in regrets:
            regrets[rule].append(regret(record, picks[rule]))
    lines = ["The same rules on the wide ramp (median / worst regret):"]
    for rule, values in regrets.items():
        lines.append(f"  {rule:<17}{fmt(np.median(values)):>8} / {fmt(np.max(values))}")
    return lines


def search_table(records):
    """Score differences against nested GridSearchCV, and the ramps' cost against the grid."""
    has_shipped = all("shipped" in r for r in records)
    header = (
        f"{'problem':<27}{'grid rate':>10}{'grid score':>11}"
        + (f"{'shipped':>9}" if has_shipped else "")
        + f"{'old':>9}{'proposed':>9}"
        + (f"{'shipped':>9}" if has_shipped else "")
        + f"{'old':>7}{'wide':>7}{'race':>7}"
    )
    lines = [
        "Validation score (accuracy or R^2) minus nested GridSearchCV's (seed 0): LRFinderSearch "
        + (
            "as shipped (LRFinderSearch(estimator), defaults, random_state=0), "
            if has_shipped
            else ""
        )
        + "LRFinderSearch with the old defaults (old ramp, lag_corrected), and a refit at the "
        "proposed rule's pick (chosen on the other problems). Cost: updates of the "
        + ("shipped default ramp, " if has_shipped else "")
        + "the old default ramp, the wide ramp and the race, as a fraction of the oracle grid's "
        "(one seed; mean over seeds)",
        header,
        "-" * len(header),
    ]
    for record in records:
        batches = -(-record["n_train"] // record["batch_size"])
        grid = grid_updates(record)
        default_cost = np.mean([c["n_updates"] for c in record["default_ramp"]]) / grid
        wide_cost = np.mean([c["n_updates"] for c in record["wide_ramp"]]) / grid
        race_cost = len(RACE_FACTORS) * race_epochs(record) * batches / grid
        proposed = record.get("proposed_score")
        proposed = "-" if proposed is None else f"{proposed - record['grid_score']:+.4f}"
        shipped_score = shipped_cost_cell = ""
        if has_shipped:
            shipped_score = f"{record['shipped']['search_score'] - record['grid_score']:>+9.4f}"
            shipped_cost_cell = f"{shipped_cost(record):>9.1%}"
        lines.append(
            f"{record['name']:<27}{record['grid_rate']:>10.2g}{record['grid_score']:>11.4f}"
            f"{shipped_score}{record['search_score'] - record['grid_score']:>+9.4f}{proposed:>9}"
            f"{shipped_cost_cell}{default_cost:>7.1%}{wide_cost:>7.1%}{race_cost:>7.1%}"
        )
    if "proposed_loss" in records[0]:
        held = held_out_picks(records)
        ratios = [
            r["proposed_loss"] / np.mean([loss_at(r, rate) for rate in p])
            for r, p in zip(records, held, strict=True)
        ]
        lines.append(
            "Proposed picks trained rather than interpolated (validation loss, mean over seeds): "
            f"trained / interpolated median {np.median(ratios):.3f}, range {np.min(ratios):.3f} "
            f"to {np.max(ratios):.3f}"
        )
    below = (
        f"shipped {sum(search_gap(r) < -TARGETS['score_gap'] for r in records)}, "
        if has_shipped
        else ""
    )
    lines.append(
        f"Problems more than 0.01 below the grid's score: {below}old search "
        f"{sum(r['search_score'] < r['grid_score'] - 0.01 for r in records)}, proposed "
        f"{sum(r.get('proposed_score', np.nan) < r['grid_score'] - 0.01 for r in records)}"
    )
    return lines


def search_gap(record):
    """The shipped LRFinderSearch's validation score minus nested GridSearchCV's."""
    return record["shipped"]["search_score"] - record["grid_score"]


def shipped_table(records, held):
    """The shipped default against the simulation it came from, problem by problem."""
    header = (
        f"{'problem':<27}{'LOO f':>7}{'proposed':>10}{'fixed f':>10}{'shipped':>10}"
        f"{'pick/fixed':>11}{'extended':>9}{'no turn':>8}{'at min':>7}"
    )
    lines = [
        "Shipped default against the simulation. proposed: the simulated column (wide ramp, "
        "factor fitted on the other 23 problems: LOO f, log10); fixed f: the same wide ramps "
        f"(cached) x the shipped factor {SHIPPED_FACTOR} (10^{np.log10(SHIPPED_FACTOR):.2f}); "
        "shipped: the package's own ramps and picks. pick/fixed: shipped pick over the "
        "fixed-factor pick (geometric mean over seeds); extended: seeds whose ramp went past "
        "max_lr; no turn: "
        "seeds that warned the loss never blew up; at min: seeds whose pick is the ramp's first "
        "rate (clipped or warned)",
        header,
        "-" * len(header),
    ]
    _, ratios = log_ratios(records, PROPOSED)
    fixed_rule = partial(LANDMARKS[PROPOSED], factor=SHIPPED_FACTOR)
    columns = {"proposed": [], "fixed": [], "shipped": []}
    same = 0
    for j, (record, held_picks) in enumerate(zip(records, held, strict=True)):
        fixed = wide_picks(record, fixed_rule)
        shipped = shipped_picks(record)
        ramps = record["shipped"]["ramps"]
        values = dict(
            proposed=regret(record, held_picks),
            fixed=regret(record, fixed),
            shipped=regret(record, shipped),
        )
        for name, value in values.items():
            columns[name].append(value)
        ratio = float(np.exp(np.mean(np.log(shipped)) - np.mean(np.log(fixed))))
        same += abs(ratio - 1) < 1e-6
        extended = sum("extended" in r["stop_reason"] for r in ramps)
        no_turn = sum(any("never blew up" in w for w in r["warnings"]) for r in ramps)
        at_min = sum(r["best_lr"] <= r["learning_rates"][0] * (1 + 1e-9) for r in ramps)
        lines.append(
            f"{record['name']:<27}{np.median(np.delete(ratios, j)):>+7.2f}"
            f"{fmt(values['proposed'], below_grid(record, held_picks)):>10}"
            f"{fmt(values['fixed'], below_grid(record, fixed)):>10}"
            f"{fmt(values['shipped'], below_grid(record, shipped)):>10}{ratio:>11.3f}"
            f"{extended:>9}{no_turn:>8}{at_min:>7}"
        )
    lines.append("-" * len(header))
    for label, stat in (("median", np.median), ("worst", np.max)):
        lines.append(f"{label:<34}" + "".join(f"{fmt(stat(v)):>10}" for v in columns.values()))
    lines.append(
        f"{'over 1.15':<34}"
        + "".join(f"{int(np.sum(np.asarray(v) > 1.15)):>10}" for v in columns.values())
    )
    lines.append(
        "Problems where the shipped picks equal the fixed-factor simulation's: "
        f"{same} of {len(records)}"
    )
    return lines


def data_dependence(records, proposed):
    """Pairs of problems whose oracle rates differ by >= 100x: do the picks differ by >= 10x?"""
    oracles = [oracle(record)[0] for record in records]
    picks = [np.exp(np.mean(np.log(wide_picks(record, proposed)))) for record in records]
    default = [
        np.exp(np.mean(np.log([c["suggestions"]["lag_corrected"] for c in r["default_ramp"]])))
        for r in records
    ]
    shipped = (
        [np.exp(np.mean(np.log(shipped_picks(r)))) for r in records]
        if all("shipped" in r for r in records)
        else None
    )
    pairs = [
        (i, j)
        for i, j in itertools.combinations(range(len(records)), 2)
        if max(oracles[i] / oracles[j], oracles[j] / oracles[i]) >= 100
    ]

    def follows(chosen):
        ok = 0
        for i, j in pairs:
            hi, lo = (i, j) if oracles[i] > oracles[j] else (j, i)
            ok += chosen[hi] / chosen[lo] >= 10
        return ok

    shipped_count = "" if shipped is None else f"shipped {follows(shipped)}, "
    return [
        f"Pairs of problems whose oracle rates differ by >= 100x: {len(pairs)}; picks >= 10x "
        f"apart in the right direction: {shipped_count}proposed {follows(picks)}, old default "
        f"(lag_corrected, old ramp) {follows(default)}"
    ]


def seed_spread(records, proposed):
    """Median and largest spread (max/min) of a rule's picks over the range-test seeds."""

    def spread(picks):
        picks = np.asarray(picks, dtype=float)
        return picks.max() / picks.min()

    rows = {}
    if all("shipped" in r for r in records):
        rows["shipped"] = [spread(shipped_picks(r)) for r in records]
    rows.update(
        {
            "old default": [spread(classic_picks(r)["lag_corrected"]) for r in records],
            "fastai minimum": [spread(classic_picks(r)["minimum"]) for r in records],
            "proposed": [spread(wide_picks(r, proposed)) for r in records],
        }
    )
    return ["Spread of the picks over seeds (largest / smallest pick), median and worst:"] + [
        f"  {name:<17}{np.median(values):>7.2f} {np.max(values):>9.2f}"
        for name, values in rows.items()
    ]


def budget_drift(records):
    """How far the oracle's rate moves between a quarter of the budget and the whole of it."""

    def best_rate(record, epoch):
        rates, losses = grid_loss(record, epoch)
        return rates[np.nanargmin(np.where(np.isfinite(losses), losses, np.nan))]

    shifts = {}
    for record in records:
        epochs = np.asarray(record["grid_losses"][0]).shape[-1]
        quarter = max(1, epochs // 4)
        shifts[record["name"]] = np.log10(best_rate(record, -1) / best_rate(record, quarter - 1))
    values = np.asarray(list(shifts.values()))
    return [
        "The oracle's rate after the whole budget over its rate after a quarter of it (log10): "
        f"median {np.median(values):+.2f}, median |shift| {np.median(abs(values)):.2f}, "
        f"{np.sum(abs(values) >= 0.5)} of {len(values)} problems move half a decade or more "
        f"(range {values.min():+.2f} to {values.max():+.2f}); a range test does not see the budget"
    ] + [f"  {name:<28}{shift:+.2f}" for name, shift in shifts.items()]


def targets(records, regrets):
    """Issue #8's targets for the shipped default, met or not, with the numbers."""
    shipped = np.asarray(regrets["shipped"])
    gaps = np.asarray([search_gap(r) for r in records])
    costs = np.asarray([shipped_cost(r) for r in records])
    largest = max(
        (ramp["n_updates"] / grid_updates(r), r["name"])
        for r in records
        for ramp in r["shipped"]["ramps"] + [{"n_updates": r["shipped"]["search_updates"]}]
    )
    within = int((costs <= TARGETS["cost"]).sum())
    names = [r["name"] for r in records]

    def verdict(ok):
        return "met" if ok else "NOT met"

    below = [f"{n} {g:+.4f}" for n, g in zip(names, gaps, strict=True) if g < -TARGETS["score_gap"]]
    classic = {rule: np.asarray(regrets[rule]) for rule in CLASSIC}
    best_median = min(classic, key=lambda rule: np.median(classic[rule]))
    best_worst = min(classic, key=lambda rule: np.max(classic[rule]))
    keep = np.asarray([r["name"] != "iris ours std" for r in records])
    best_worst_no_iris = min(classic, key=lambda rule: np.max(classic[rule][keep]))
    return [
        "Issue #8's targets, the shipped default (lr_range_test / LRFinderSearch defaults):",
        f"  median regret <= {TARGETS['median']}: "
        f"{verdict(np.median(shipped) <= TARGETS['median'])} ({np.median(shipped):.3f})",
        f"  worst regret <= {TARGETS['worst']}: {verdict(shipped.max() <= TARGETS['worst'])} "
        f"({fmt(shipped.max())}, {names[int(np.argmax(shipped))]}; "
        f"{int((shipped > TARGETS['worst']).sum())} problems over; without iris "
        f"{fmt(shipped[keep].max())})",
        f"  within {TARGETS['score_gap']} of nested GridSearchCV everywhere: "
        f"{verdict(not below)} ({len(below)} below: {', '.join(below) or 'none'})",
        f"  <= {TARGETS['cost']:.0%} of the grid's updates: "
        f"{verdict(costs.max() <= TARGETS['cost'])} (ramp, mean over seeds: median "
        f"{np.median(costs):.1%}, at most {costs.max():.2%} on "
        f"{names[int(np.argmax(costs))]}; {within} of {len(records)} problems within; largest "
        f"single ramp, LRFinderSearch's included: {largest[0]:.2%}, {largest[1]})",
        f"  better than every classic rule (old ramp) on the median: "
        f"{verdict(all(np.median(shipped) < np.median(v) for v in classic.values()))} "
        f"({np.median(shipped):.3f} against {best_median}'s {np.median(classic[best_median]):.3f})",
        f"  better than every classic rule (old ramp) on the worst: "
        f"{verdict(all(shipped.max() < v.max() for v in classic.values()))} "
        f"({fmt(shipped.max())} against {best_worst}'s {fmt(classic[best_worst].max())}; without "
        f"iris {fmt(shipped[keep].max())} against {best_worst_no_iris}'s "
        f"{fmt(classic[best_worst_no_iris][keep].max())})",
    ]


def load(directory=RESULTS):
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


if __name__ == "__main__":
    print(report(load(Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS)))
