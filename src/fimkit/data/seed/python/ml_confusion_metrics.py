"""Confusion matrix and the usual per-class / averaged classification metrics."""
import numpy as np


def confusion_matrix(y_true, y_pred, n_classes=None):
    """Rows are true classes, columns are predicted classes.

    ``bincount`` on a flattened (true, pred) index builds the whole matrix in
    one pass instead of a Python loop over samples.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1
    flat = y_true * n_classes + y_pred
    return np.bincount(flat, minlength=n_classes**2).reshape(n_classes, n_classes)


def _safe_div(num, den):
    # Undefined ratios (e.g. precision of a never-predicted class) become 0.
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den != 0)


def classification_report(cm):
    """Return a dict of precision, recall, F1 per class plus macro/micro/weighted F1."""
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    support = cm.sum(axis=1)

    precision = _safe_div(tp, tp + fp)
    recall = _safe_div(tp, tp + fn)
    f1 = _safe_div(2 * precision * recall, precision + recall)

    # Micro-averaging pools counts first; for single-label multi-class data
    # micro precision == micro recall == micro F1 == accuracy.
    micro = tp.sum() / cm.sum() if cm.sum() else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support.astype(int),
        "accuracy": micro,
        "macro_f1": float(f1.mean()),
        "weighted_f1": float(np.average(f1, weights=support)) if support.sum() else 0.0,
    }


if __name__ == "__main__":
    truth = [0, 0, 1, 1, 1, 2, 2, 2, 2, 0]
    preds = [0, 1, 1, 1, 0, 2, 2, 1, 2, 0]
    cm = confusion_matrix(truth, preds)
    print(cm)
    for key, value in classification_report(cm).items():
        print(f"{key:>12}: {np.round(value, 3)}")
