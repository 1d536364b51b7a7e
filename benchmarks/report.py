"""Offline evaluation of the cached benchmark results: picks, regrets, tables.

``python benchmarks/report.py`` prints the tables from ``benchmarks/results/*.json`` without
training anything (except nothing: every number comes from the cache).
"""

import itertools
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
from curve_rules import plateau_start, smoothed_minimum
from peer_rules import lightning, torch_lr_finder, torch_lr_finder_curve

RESULTS = Path(__file__).resolve().parent / "results"
CLASSIC = ["lag_corrected", "minimum", "steepest", "valley", "slide"]
PEERS = ["torch-lr-finder", "lightning", "lightning<21055"]
# Candidate rules on the wide ramp's raw losses, and their constants searched by leave-one-out.
FACTORS = 10.0 ** np.arange(-1.5, 1.01, 0.125)
SIGMAS = (0.15, 0.25, 0.4)
FRACTIONS = (0.02, 0.05, 0.1)
REGRET_CAP = 100.0
# The race (issue part 5): candidates around the pick, each trained this many epochs.
RACE_FACTORS = (1 / 3, 1.0, 3.0)
RACE_EPOCHS = 1  # a divergent pick counts as this regret when constants are fitted


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
        smoothed = np.asarray(curve["smoothed_losses"])
        picks["lightning"].append(lightning(lrs, smoothed))
        picks["lightning<21055"].append(lightning(lrs, smoothed, wrt_lr=False))
    return picks


def candidate_rules():
    """Every candidate configuration: name -> rule(lrs, raw losses)."""
    rules = {}
    for sigma, factor in itertools.product(SIGMAS, FACTORS):
        rules[("minimum", sigma, None, factor)] = partial(
            smoothed_minimum, sigma_decades=sigma, factor=factor
        )
        for fraction in FRACTIONS:
            rules[("plateau", sigma, fraction, factor)] = partial(
                plateau_start, sigma_decades=sigma, fraction=fraction, factor=factor
            )
    return rules


def wide_picks(record, rule):
    return [
        rule(np.asarray(curve["learning_rates"]), np.asarray(curve["losses"]))
        for curve in record["wide_ramp"]
    ]


def race(record, picks, factors=RACE_FACTORS, epochs=RACE_EPOCHS):
    """Per seed: train ``pick * factor`` for each factor for ``epochs`` epochs and keep the rate
    with the lowest validation loss (read off the oracle's per-epoch losses)."""
    return [
        min((pick * f for f in factors), key=lambda rate: loss_at(record, rate, epochs - 1))
        if np.isfinite(pick)
        else pick
        for pick in picks
    ]


def log_regret_table(records, rules, raced=False):
    """log(min(regret, cap)) of every candidate on every problem: (rules, problems)."""
    table = np.empty((len(rules), len(records)))
    for i, rule in enumerate(rules.values()):
        for j, record in enumerate(records):
            picks = wide_picks(record, rule)
            if raced:
                picks = race(record, picks)
            table[i, j] = np.log(min(regret(record, picks), REGRET_CAP))
    return table


def leave_one_out(table):
    """Per held-out problem, the configuration (row) that minimises the mean log regret of
    the other problems, and its regret on the held-out problem."""
    held_out = []
    for j in range(table.shape[1]):
        best = int(np.argmin(np.delete(table, j, axis=1).mean(axis=1)))
        held_out.append((best, float(np.exp(table[best, j]))))
    return held_out


def fmt(value, lower_bound=False):
    if not np.isfinite(value):
        return "div"
    if value >= REGRET_CAP:
        return f">={REGRET_CAP:.0f}"
    return ("<" if lower_bound else "") + f"{value:.3f}"


def held_out_rules(records):
    """Per problem, the candidate rule chosen on the other problems (leave one out)."""
    rules = candidate_rules()
    names = list(rules)
    return [rules[names[i]] for i, _ in leave_one_out(log_regret_table(records, rules))]


def proposed_rule(records):
    """The candidate configuration with the lowest mean log regret over ``records``."""
    rules = candidate_rules()
    table = log_regret_table(records, rules)
    config = list(rules)[int(np.argmin(table.mean(axis=1)))]
    return config, rules[config]


def report(records):
    """Every table, as text."""
    lines = []
    rules = candidate_rules()
    names = list(rules)
    loo = leave_one_out(log_regret_table(records, rules))
    loo_race = leave_one_out(log_regret_table(records, rules, raced=True))
    config, proposed = proposed_rule(records)

    columns = CLASSIC + PEERS + ["DoG", "wide LOO", "LOO+race"]
    header = f"{'problem':<27}{'n':>6}{'1/L':>9}{'oracle':>9}" + "".join(
        f"{c[:9]:>10}" for c in columns
    )
    lines += [
        "Regret (validation loss at the pick / oracle's): the classic and peer rules on the "
        "default ramp; the proposed rule on the wide ramp, held out (leave one problem out)",
        header,
        "-" * len(header),
    ]
    all_regrets = {c: [] for c in columns}
    for record, (_, held), (_, held_race) in zip(records, loo, loo_race, strict=True):
        picks = classic_picks(record)
        cells = []
        for rule in CLASSIC + PEERS:
            value = regret(record, picks[rule])
            all_regrets[rule].append(value)
            cells.append(fmt(value, below_grid(record, picks[rule])))
        dog = record.get("dog")
        value = np.mean(dog) / oracle(record)[1] if dog else np.nan
        all_regrets["DoG"].append(value)
        cells.append(fmt(value) if dog else "-")
        for column, value in (("wide LOO", held), ("LOO+race", held_race)):
            all_regrets[column].append(value)
            cells.append(fmt(value))
        auto = record["auto_rate"]
        lines.append(
            f"{record['name']:<27}{record['n_train']:>6}"
            f"{(f'{auto:.2g}' if auto else '-'):>9}{oracle(record)[0]:>9.2g}"
            + "".join(f"{c:>10}" for c in cells)
        )
    lines.append("-" * len(header))
    for label, stat in (("median", np.median), ("worst", np.max)):
        cells = []
        for c in columns:
            values = np.asarray([v for v in all_regrets[c] if not np.isnan(v)])
            cells.append(fmt(stat(values)) if len(values) else "-")
        lines.append(f"{label:<51}" + "".join(f"{c:>10}" for c in cells))
    lines.append(
        "\nLeave-one-problem-out configurations (rule, smoothing sigma in decades, fraction, "
        "factor):\n  without race: "
        + "; ".join(f"{_config(names[i])} x{n}" for i, n in _counts(loo))
        + "\n  with race: "
        + "; ".join(f"{_config(names[i])} x{n}" for i, n in _counts(loo_race))
    )
    lines.append(f"Fitted on all problems: {_config(config)}")
    lines += [""] + wide_classic_table(records)
    lines += [""] + search_table(records)
    lines += [""] + data_dependence(records, proposed)
    return "\n".join(lines)


def _counts(loo):
    indices, counts = np.unique([i for i, _ in loo], return_counts=True)
    return sorted(zip(indices, counts, strict=True), key=lambda pair: -pair[1])


def _config(config):
    rule, sigma, fraction, factor = config
    extra = f", fraction {fraction}" if fraction is not None else ""
    return f"{rule} (sigma {sigma}{extra}, factor {factor:.3g})"


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
    header = (
        f"{'problem':<27}{'grid rate':>10}{'grid score':>11}{'search':>9}{'proposed':>9}"
        f"{'default':>9}{'wide':>7}{'race':>7}"
    )
    lines = [
        "Validation score (accuracy or R^2) minus nested GridSearchCV's (seed 0): LRFinderSearch "
        "with the package defaults, and a refit at the proposed rule's pick (chosen on the other "
        "problems). Cost: updates of the default ramp, the wide ramp and the race, as a fraction "
        "of the oracle grid's (one seed)",
        header,
        "-" * len(header),
    ]
    for record in records:
        batches = -(-record["n_train"] // record["batch_size"])
        grid_updates = len(record["grid_rates"]) * record["epochs"] * batches
        default_cost = np.mean([c["n_updates"] for c in record["default_ramp"]]) / grid_updates
        wide_cost = np.mean([c["n_updates"] for c in record["wide_ramp"]]) / grid_updates
        race_cost = len(RACE_FACTORS) * RACE_EPOCHS * batches / grid_updates
        proposed = record.get("proposed_score")
        proposed = "-" if proposed is None else f"{proposed - record['grid_score']:+.4f}"
        lines.append(
            f"{record['name']:<27}{record['grid_rate']:>10.2g}{record['grid_score']:>11.4f}"
            f"{record['search_score'] - record['grid_score']:>+9.4f}{proposed:>9}"
            f"{default_cost:>9.1%}{wide_cost:>7.1%}{race_cost:>7.1%}"
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

    return [
        f"Pairs of problems whose oracle rates differ by >= 100x: {len(pairs)}; picks >= 10x "
        f"apart in the right direction: proposed {follows(picks)}, current default "
        f"{follows(default)}"
    ]


def load(directory=RESULTS):
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


if __name__ == "__main__":
    print(report(load(Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS)))
