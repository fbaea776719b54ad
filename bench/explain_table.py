#!/usr/bin/env python3
"""Markdown tables from `gaze evaluate --json` output (bench/results/explain.md): one table over
every item and one per task, each cell the mean and its 95 % bootstrap interval.

  python3 bench/explain_table.py RESULT.json [--tasks]
"""
import json
import sys

KEYS = [("comprehensiveness_aopc", "comp ↑"), ("sufficiency_aopc", "suff ↓"), ("deletion_auc", "del ↓"),
        ("insertion_auc", "ins ↑"), ("auprc", "AUPRC"), ("f1_at_k", "F1@k"), ("iou_f1", "IOU-F1")]


def cell(r, k, digits):
    v, ci = r.get(k), r.get(k + "_ci")
    if v is None:
        return "–"
    return f"{v:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def table(rows, with_time, digits):
    head = "| method | n | " + " | ".join(h for _, h in KEYS) + (" | s/item |" if with_time else " |")
    out = [head, "|---|---:|" + "---:|" * len(KEYS) + ("---:|" if with_time else "")]
    for r in rows:
        line = f"| {r['method']} | {r['items']} | " + " | ".join(cell(r, k, digits) for k, _ in KEYS)
        line += f" | {r['seconds_per_item']:.1f} |" if with_time else " |"
        out.append(line)
    return "\n".join(out)


def main():
    o = json.load(open(sys.argv[1]))
    digits = 2 if o["target"].startswith("log p") else 3
    print(f"{o['items']} items; target: {o['target']}; 95 % bootstrap intervals "
          f"({o['bootstrap']} resamples, seed {o['seed']})")
    if "stopped_at_deadline" in o:
        d = o["stopped_at_deadline"]
        print(f"stopped at the deadline after {d['items_done']} of {d['items_asked']} items")
    if "prediction_matches_target" in o:
        print(f"the model predicts the item's target on {100 * o['prediction_matches_target']:.1f} % of the items")
    print()
    print(table(o["methods"], True, digits))
    if "--tasks" in sys.argv:
        for t in o.get("tasks", []):
            print(f"\nTask **{t['task']}** ({t['items']} items):\n")
            print(table(t["methods"], False, digits))


if __name__ == "__main__":
    main()
