"""A transformer text classifier that lmf does not define, compressed through lmf's public API.

    python examples/transformer_sst2.py            # SST-2's 67,349 phrases, a few minutes on one core
    python examples/transformer_sst2.py --quick    # 400 phrases and a few steps: tests/test_examples.py

The model is a team's own: token and positional embeddings, an nn.TransformerEncoder, the mean of
the outputs at real (non-PAD) tokens, a linear layer. At width 64 the token table (V x 64) holds
most of its parameters. The script
  1. trains it with a loop of its own: Adam, the rate set by lmf.CALR after every step;
  2. factorizes the token table at R = 90 % with lmf.factorize_embeddings: W (V x 64) becomes
     W_a (V x k) W_b (k x 64) from W's truncated SVD, k from eq. (5) (the positional table, 1.6 %
     of the parameters, is left as it is: names=["tokens"]);
  3. retrains it in the same loop, lmf.CALR with a lower upper bound, and, as the control, the
     uncompressed model too, the same steps at the same rates (retraining is also more training);
  4. saves it with lmf.save_compressed, loads it into a newly built model with lmf.load_compressed
     and checks that the two give the same logits on every test sentence;
and prints dev and test accuracy and the parameter counts at each step. docs/transformer_example.md
has the output of a full run. Needs the data folder ($LMF_DATA_DIR) or the Hugging Face Hub.
"""
import argparse
import copy
import math
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import lmf
from lmf.tokenize import MAX_TOKENS, PAD_ID

WIDTH, HEADS, LAYERS, FEEDFORWARD, DROPOUT = 64, 4, 2, 128, 0.1
BATCH = 128
TRAIN = {"epochs": 2, "lr_lb": 1e-4, "lr_ub": 2e-3}
RETRAIN = {"epochs": 1, "lr_lb": 1e-5, "lr_ub": 5e-4}
REDUCTION = 90
QUICK = {"n_train": 400, "n_eval": 200, "train_steps": 30, "retrain_steps": 10}


class TransformerClassifier(nn.Module):
    """Token + positional embeddings, a TransformerEncoder, the mean over the non-PAD positions."""

    def __init__(self, vocab_size, num_classes, max_len=MAX_TOKENS):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, WIDTH, padding_idx=PAD_ID)
        self.positions = nn.Embedding(max_len, WIDTH)
        layer = nn.TransformerEncoderLayer(WIDTH, HEADS, FEEDFORWARD, DROPOUT, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.out = nn.Linear(WIDTH, num_classes)

    def forward(self, ids):
        pad = ids == PAD_ID
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1], device=ids.device))
        h = self.encoder(x, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.out((h * keep).sum(1) / keep.sum(1).clamp(min=1))


def fit(model, data, epochs, lr_lb, lr_ub, max_steps=None, seed=0):
    """A plain training loop: shuffled mini-batches of data.train, cross-entropy, Adam, lmf.CALR
    stepped after every optimizer step (a half-cycle of half an epoch). Returns (steps, seconds)."""
    ids, lengths, labels = data.encoded("train")
    steps_per_epoch = math.ceil(len(labels) / BATCH)
    total = int(epochs * steps_per_epoch) if max_steps is None else max_steps
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = lmf.CALR(optimizer, steps_per_epoch, max(1, steps_per_epoch // 2), lr_lb, lr_ub)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    model.train()
    for step in range(total):
        if step % steps_per_epoch == 0:
            order = torch.randperm(len(labels), generator=generator)
        batch = order[(step % steps_per_epoch) * BATCH:][:BATCH]
        width = int(lengths[batch].max().clamp(min=1))  # trim the padding beyond the longest text
        loss = nn.functional.cross_entropy(model(ids[batch, :width]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    return total, time.perf_counter() - start


def scores(model, data):
    """'dev 80.73 %, test 81.27 %': lmf.accuracy (a fraction) printed in percent."""
    return f"dev {100 * lmf.accuracy(model, data, 'dev'):.2f} %, test {100 * lmf.accuracy(model, data, 'test'):.2f} %"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="400 phrases, a few steps (the CI run)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # one core, and the same seed gives the same model on any machine
    torch.manual_seed(args.seed)

    data = lmf.load_dataset("sst2")
    if args.quick:
        data = data.subset(QUICK["n_train"], QUICK["n_eval"])
    n_vocab, n_classes = len(data.vocab), len(data.label_names)
    print(f"SST-2{' (--quick)' if args.quick else ''}: {len(data.train):,} training phrases, vocabulary "
          f"{n_vocab:,}; dev {len(data.dev):,}, test {len(data.test):,} sentences")

    model = TransformerClassifier(n_vocab, n_classes)
    before, table = lmf.count_parameters(model), model.tokens.weight.numel()
    print(f"model: width {WIDTH}, {LAYERS} encoder layers, {HEADS} heads; {before:,} parameters, "
          f"{table:,} ({100 * table / before:.1f} %) of them in the token table")
    steps, seconds = fit(model, data, **TRAIN, max_steps=QUICK["train_steps"] if args.quick else None,
                         seed=args.seed)
    print(f"trained ({steps:,} steps, Adam under CALR {TRAIN['lr_lb']:.0e} to {TRAIN['lr_ub']:.0e}, {seconds:.0f} s): "
          f"{scores(model, data)}")

    uncompressed = copy.deepcopy(model)  # retrained below the same way, as the control
    records = lmf.factorize_embeddings(model, REDUCTION, names=["tokens"])
    r, = records
    after = lmf.count_parameters(model)
    print(f"factorized the token table at R = {REDUCTION} %: rank {r.rank}, {r.params_before:,} -> "
          f"{r.params_after:,} parameters; the model {before:,} -> {after:,} ({100 * after / before:.1f} %)")
    print(f"after the SVD: {scores(model, data)}")
    retrain_steps = QUICK["retrain_steps"] if args.quick else None
    steps, seconds = fit(model, data, **RETRAIN, max_steps=retrain_steps, seed=args.seed)
    print(f"retrained ({steps:,} steps, CALR {RETRAIN['lr_lb']:.0e} to {RETRAIN['lr_ub']:.0e}, {seconds:.0f} s): "
          f"{scores(model, data)}")
    # The retraining is more training: the uncompressed model gets the same steps, so that the
    # difference between the two is what the factorization cost, not what the extra epoch gave.
    steps, seconds = fit(uncompressed, data, **RETRAIN, max_steps=retrain_steps, seed=args.seed)
    print(f"control: the uncompressed model trained the same {steps:,} steps ({seconds:.0f} s): "
          f"{scores(uncompressed, data)}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.safetensors"
        lmf.save_compressed(model, records, path)
        torch.manual_seed(args.seed + 1)  # other initial weights: everything must come from the file
        reloaded = TransformerClassifier(n_vocab, n_classes).eval()
        lmf.load_compressed(reloaded, path)
        ids = data.encoded("test")[0]
        with torch.no_grad():
            same = torch.equal(model(ids), reloaded(ids))
        print(f"saved ({path.stat().st_size / 1e6:.2f} MB) and loaded into a new model: "
              f"{'identical' if same else 'DIFFERENT'} logits on the {len(ids):,} test sentences")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
