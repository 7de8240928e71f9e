"""lmf.export: every model kind the studio makes, exported, gives torch's logits (within 1e-5)
and argmax on ONNX Runtime, at every precision a text's logits do not depend on the other texts of
its call; the int8 export stores int8 weights (dequantized once at load, but for a DAN's large
layer, run in integers, and tables of SMALL_TABLE numbers or more, gathered in int8),
at most 0.35x the bytes; the graph is the smallest: W_b folded into the next layer, no mask
arithmetic; --out is replaced only if it is an export; the CLI's `export`."""
import json
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
import torch

from lmf.artifacts import load_model, save_model
from lmf.cli import main
from lmf.compress import compress_model, compress_whole_model, hmf_compress_model, offline_model
from lmf.data import load_dataset, pad_batch
from lmf.export import INT8_ARITHMETIC_MIN, OPSET, SMALL_TABLE, ExportError, export_model, is_export, words_content
from lmf.groupreduce import groupreduce_compress_model
from lmf.metrics import size_on_disk
from lmf.models import new_model
from lmf.quantize import quantize_model
from lmf.runtime import Predictor
from lmf.tokenize import settings

# Different lengths in one batch (padding, the LSTM's sequence_lens), unknown words, a zero-width
# space inside a word, punctuation only, and a text longer than MAX_TOKENS = 256 tokens.
TEXTS = ["a gorgeous , witty , seductive movie .", "bad", "the film is n't good at all , really",
         "zzzunknownzzz qqq", "it 's a wonder\u200bful film", "!", "good " * 300]
KINDS = ["dan-dense", "dan-lmf", "dan-offline", "dan-hmf", "dan-groupreduce", "dan-quant8", "dan-lmf_whole",
         "lstm-dense", "lstm-lmf", "lstm-offline", "lstm-hmf", "lstm-groupreduce", "lstm-quant8",
         "dan-prune", "lstm-prune", "dan-prune_lmf", "lstm-prune_lmf", "dan-prune_lmf_whole",
         "dan_ngram-dense", "dan_ngram-lmf", "dan_ngram-prune_lmf"]
BUCKETS = 256  # the n-gram DAN's, small for a fast test


def make_models(vocab, R=90):
    """kind -> model (untrained: parity needs weights, not good ones) for DAN and LSTM: dense, LMF,
    offline SVD, HMF, GroupReduce, 8-bit, and whole-model LMF (DAN only), at R = 90 %; vocabulary
    pruning (lmf.prune) of both, alone and with LMF (the source of the recommended CLINC150 DAN and
    of shipped LSTMs), and with whole-model LMF for the DAN; and the DAN with BUCKETS hashed bigrams
    (lmf.ngrams), dense, LMF and pruned + LMF. The n-gram rows are random, not zero as new_model starts them, so that
    parity covers them."""
    from lmf.prune import prune_lmf_model, prune_model
    models = {}
    for arch in ("dan", "lstm"):
        torch.manual_seed(0)
        dense = new_model(arch, len(vocab), 2)
        models[f"{arch}-dense"] = dense
        models[f"{arch}-lmf"] = compress_model(dense, R)
        models[f"{arch}-offline"] = offline_model(arch, len(vocab), 2, R)
        models[f"{arch}-hmf"] = hmf_compress_model(dense, R)
        models[f"{arch}-groupreduce"] = groupreduce_compress_model(dense, vocab.counts, R)
        models[f"{arch}-quant8"] = quantize_model(dense, 8)
    models["dan-lmf_whole"] = compress_whole_model(models["dan-dense"], R)
    for arch in ("dan", "lstm"):
        models[f"{arch}-prune"] = prune_model(models[f"{arch}-dense"], vocab.counts, R)
        models[f"{arch}-prune_lmf"] = prune_lmf_model(models[f"{arch}-dense"], vocab.counts, R)
    models["dan-prune_lmf_whole"] = prune_lmf_model(models["dan-dense"], vocab.counts, R, whole=True)
    grams = new_model("dan", len(vocab), 2, ngrams=2, buckets=BUCKETS)
    torch.nn.init.normal_(grams.embedding.table.weight.data[-BUCKETS:])
    models["dan_ngram-dense"] = grams
    models["dan_ngram-lmf"] = compress_model(grams, R)
    models["dan_ngram-prune_lmf"] = prune_lmf_model(grams, vocab.counts, R)
    return models


@pytest.fixture(scope="module")
def zoo(data_dir, tmp_path_factory):
    """kind -> {"saved", "fp32", "fp16", "int8"} directories, vocabulary of 200 SST-2 phrases."""
    data = load_dataset("sst2").subset(200)
    root = tmp_path_factory.mktemp("zoo")
    out = {}
    for kind, model in make_models(data.vocab).items():
        saved = save_model(root / kind, model.eval(), data.vocab, data.label_names)
        out[kind] = {"saved": saved, "fp32": export_model(saved, root / f"{kind}-fp32"),
                     "fp16": export_model(saved, root / f"{kind}-fp16", precision="fp16"),
                     "int8": export_model(saved, root / f"{kind}-int8", int8=True)}
    return out


def torch_logits(saved_dir, texts):
    saved = load_model(saved_dir)
    ids, _ = pad_batch([saved.vocab.encode(t) for t in texts])
    with torch.no_grad():
        return saved.model(ids).numpy()


def test_zoo_covers_every_kind(zoo):
    assert sorted(zoo) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_fp32_matches_torch(zoo, kind):
    """Same logits within 1e-5 and the same argmax, batched (padding) and one text at a time."""
    expected = torch_logits(zoo[kind]["saved"], TEXTS)
    predictor = Predictor(zoo[kind]["fp32"])
    for batch_size in (len(TEXTS), 1):
        got = predictor.logits(TEXTS, batch_size=batch_size)
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
        assert (got.argmax(1) == expected.argmax(1)).all()


@pytest.mark.parametrize("kind", KINDS)
def test_int8_is_small_and_runs(zoo, kind):
    """int8 weights (MatMul, LSTM and the embedding Gathers) are a quarter of fp32's: the whole
    directory, tokenizer.json and fp32 biases included, is at most 0.35x."""
    fp32, int8 = zoo[kind]["fp32"], zoo[kind]["int8"]
    assert size_on_disk(int8) <= 0.35 * size_on_disk(fp32)
    types = {init.data_type for init in onnx.load(int8 / "model.onnx").graph.initializer}
    assert onnx.TensorProto.INT8 in types
    logits = Predictor(int8).logits(TEXTS)
    assert logits.shape == (len(TEXTS), 2) and np.isfinite(logits).all()


@pytest.mark.parametrize("kind", KINDS)
def test_fp16_halves_the_file_and_keeps_the_logits(zoo, kind):
    """fp16 stores every float weight in 2 bytes instead of 4: the directory is at most 0.55x fp32's
    (tokenizer.json and the int64 constants do not halve). The weights are rounded to 11 significant
    bits (relative error <= 2^-11 = 4.9e-4) and the arithmetic stays fp32, so the logits of these
    small untrained models move by far less than 5e-3."""
    fp32, fp16 = zoo[kind]["fp32"], zoo[kind]["fp16"]
    assert size_on_disk(fp16) <= 0.55 * size_on_disk(fp32)
    inits = onnx.load(fp16 / "model.onnx").graph.initializer
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16}
    weights = {init.data_type for init in inits if int(np.prod(init.dims)) > 1 and init.data_type in floats}
    assert weights == {onnx.TensorProto.FLOAT16}  # only scalar constants (1.0) stay fp32; ids stay integers
    np.testing.assert_allclose(Predictor(fp16).logits(TEXTS), Predictor(fp32).logits(TEXTS), atol=5e-3, rtol=0)
    assert json.loads((fp16 / "manifest.json").read_text())["precision"] == "fp16"


# Texts of 1 to 256 tokens: a text alone has no padding; in a batch, up to 255 PAD ids after it.
MIXED = TEXTS + ["good", "the movie is bad , bad , bad", "a witty film " * 20, "really", "it 's not the worst film !"]


def batch_tolerance(precision, logits):
    """How far a text's logits may move between its batches: fp32 and fp16 compute in fp32, whose
    sums ONNX Runtime orders differently for one row than for several (its one-row product, the sum
    over a padded row), in the last bits: 1e-5. int8 adds that a row's quantization (lmf.export's
    int8_linear) can round an activation on the other side of a half-level when that last bit
    decides, moving it one level; measured on every SST-2 and CLINC150 test text through the
    shipped int8 exports, the logits moved by at most 7.5e-5 of their largest magnitude (CLINC150's
    recommended DAN: 0.011 on logits up to 145) and no label changed: 1e-3 of it, 13x that."""
    return 1e-5 + (1e-3 * float(np.abs(logits).max()) if precision == "int8" else 0.0)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_texts_logits_do_not_depend_on_its_batch(zoo, kind, precision):
    """Issue 19: int8 quantized activations per call (ONNX Runtime's dynamic quantization), so one
    text's logits moved with the others of its batch, and a label could flip: 86.0-86.6 % of the
    same 500 test sentences right at batch sizes 1..500. Now every text gets the same label alone,
    in a batch of all and in batches of 3, and logits within batch_tolerance. predict's own batch-1
    path (its text's ids straight to the session) gives the label and probability the batched path
    gives, and they are the logits' argmax and softmax (NumPy here)."""
    predictor = Predictor(zoo[kind][precision])
    alone = predictor.logits(MIXED, batch_size=1)
    for batch_size in (len(MIXED), 3):
        together = predictor.logits(MIXED, batch_size=batch_size)
        np.testing.assert_allclose(together, alone, atol=batch_tolerance(precision, alone), rtol=0)
        assert (together.argmax(1) == alone.argmax(1)).all()
    single, batched = [predictor.predict([text])[0] for text in MIXED], predictor.predict(MIXED)
    assert [label for label, _ in single] == [label for label, _ in batched] == \
        [predictor.label_names[i] for i in alone.argmax(1)]
    np.testing.assert_allclose([p for _, p in single], [p for _, p in batched], atol=batch_tolerance(precision, 1.0), rtol=0)
    softmax = np.exp(alone - alone.max(1, keepdims=True))
    np.testing.assert_allclose([p for _, p in single], (softmax / softmax.sum(1, keepdims=True)).max(1), atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def test_sentences(data_dir):
    from lmf.tokenize import tokenize
    return [text for text in load_dataset("sst2").test.texts if tokenize(text)]


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_every_test_sentence_gets_the_same_answer_alone_and_in_a_batch(zoo, test_sentences, precision):
    """Issue 19's check on real text: each of SST-2's 1,821 test sentences classified alone
    (predict's batch-1 path) and inside batches of 64 (predict's default) and of all 1,821 gets the
    same label from every kind of the zoo, and a probability within batch_tolerance (of a
    probability, at most 1)."""
    assert len(test_sentences) == 1_821
    for kind in KINDS:
        predictor = Predictor(zoo[kind][precision])
        alone = [predictor.predict([text])[0] for text in test_sentences]
        for batch_size in (64, len(test_sentences)):
            together = predictor.predict(test_sentences, batch_size=batch_size)
            assert [label for label, _ in together] == [label for label, _ in alone], (kind, batch_size)
            np.testing.assert_allclose([p for _, p in together], [p for _, p in alone],
                                       atol=batch_tolerance(precision, 1.0), rtol=0, err_msg=kind)


def graph_of(directory):
    return onnx.load(directory / "model.onnx").graph


def test_factorized_embedding_is_folded_into_the_first_layer(zoo):
    """LMF at R = 90 of a V x 300 embedding has rank k = floor(0.1 * 300 V / (V + 300)). The DAN
    averages k-dimensional rows and W_b (k x 300) then meets the first layer W_1 (300 x 1024): the
    graph stores their product, k x 1024 (1024 k numbers instead of 300 k + 300 x 1024), beside the
    V x k table; never V x 300, k x 300 or 300 x 1024. Its nodes, in order: the count of non-PAD
    ids (Sign, ReduceSum, Cast, Max), the rows' sum (PAD's row is zero: no mask), the average, three
    layers, the answer (ArgMax, and the top class's probability: Softmax, ReduceMax)."""
    saved = load_model(zoo["dan-lmf"]["saved"])
    V, k = saved.config["vocab_size"], saved.config["rank"]
    assert k == int(0.1 * 300 * V / (V + 300))
    graph = graph_of(zoo["dan-lmf"]["fp32"])
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    assert {(V, k), (k, 1024)} <= set(shapes.values())
    assert not {(V, 300), (k, 300), (300, 1024)} & set(shapes.values())
    assert [n.op_type for n in graph.node] == ["Sign", "ReduceSum", "Cast", "Max", "Gather", "ReduceSum", "Div",
                                               "Gemm", "Relu", "Gemm", "Relu", "Gemm", "ArgMax", "Softmax", "ReduceMax"]
    folded = next(onnx.numpy_helper.to_array(i) for i in graph.initializer if tuple(i.dims) == (k, 1024))
    model = saved.model
    expected = (model.embedding.project.weight.double().T @ model.layers[0].weight.double().T).detach().numpy()
    np.testing.assert_allclose(folded, expected, rtol=1e-7, atol=0)  # the product in float64, rounded once


def test_lstm_reads_the_factorized_rows_through_a_folded_input_matrix(zoo):
    """The LSTM's gates read x W^T (W: 4H x 100); x = rows W_b, so the graph gives the LSTM the
    k-dimensional rows and W' = W W_b^T (4 x 256 x k), and stores no k x 100 W_b."""
    saved = load_model(zoo["lstm-lmf"]["saved"])
    V, k = saved.config["vocab_size"], saved.config["rank"]
    shapes = {tuple(init.dims) for init in graph_of(zoo["lstm-lmf"]["fp32"]).initializer}
    assert {(V, k), (1, 1024, k), (1, 1024, 256)} <= shapes and (k, 100) not in shapes


@pytest.mark.parametrize("kind", KINDS)
def test_no_mask_arithmetic(zoo, kind):
    """PAD's row is zero (or, for HMF and GroupReduce, every table has zero rows for the ids it does
    not own), so the fp32 graph multiplies nothing by a mask and compares no id: the count of real
    tokens is Sign(ids) summed."""
    ops = {n.op_type for n in graph_of(zoo[kind]["fp32"]).node}
    assert not ops & {"Mul", "Where", "Equal", "Not", "Less", "And", "GreaterOrEqual"}, ops


def test_int8_folds_small_matrices_at_load_and_runs_the_large_one_in_integers(zoo, tmp_path):
    """int8: every matrix is int8. The 1024 x 512 layer (2^19 weights, at least
    INT8_ARITHMETIC_MIN, after a ReLU) stays int8 and runs in MatMulInteger, the only one that
    does; the others (Cast and Mul by per-channel scales) ONNX Runtime folds at load into float32,
    as it does the embedding table, of fewer than SMALL_TABLE numbers (a table that large stays
    int8: test_a_large_int8_table_stays_int8_in_memory). No operator quantizes over a whole batch."""
    import onnxruntime as ort
    graph = graph_of(zoo["dan-lmf"]["int8"])
    assert not {n.op_type for n in graph.node} & {"DynamicQuantizeLinear", "DynamicQuantizeLSTM"}
    integer = [n for n in graph.node if n.op_type == "MatMulInteger"]
    assert len(integer) == 1 and 1024 * 512 >= INT8_ARITHMETIC_MIN > 512 * 2
    saved = load_model(zoo["dan-lmf"]["saved"])
    V, k = saved.config["vocab_size"], saved.config["rank"]
    int8 = {tuple(i.dims) for i in graph.initializer if i.data_type == onnx.TensorProto.INT8}
    assert int8 == {(V, k), (k, 1024), (1024, 512), (512, 2)}
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # constant folding, no CPU-specific layouts
    ort.InferenceSession(str(zoo["dan-lmf"]["int8"] / "model.onnx"), options, providers=["CPUExecutionProvider"])
    optimized = onnx.load(tmp_path / "optimized.onnx").graph
    kinds = {tuple(i.dims): i.data_type for i in optimized.initializer}
    assert {dims for dims, kind in kinds.items() if kind == onnx.TensorProto.INT8} == {(1024, 512)}
    assert V * k < SMALL_TABLE and kinds[(V, k)] == kinds[(k, 1024)] == kinds[(512, 2)] == onnx.TensorProto.FLOAT


def test_a_large_int8_table_stays_int8_in_memory(tmp_path):
    """An int8 table of SMALL_TABLE numbers or more (4,096 x 64 = 2^18) is gathered in int8 and its
    rows scaled after the Gather, so that ONNX Runtime keeps it int8 (a quarter of float32) in the
    optimized model; a row fewer (4,095 x 64) and it is dequantized at load. Either way a gathered
    row is, bit for bit, its int8 values times their column's scale (lmf.export._int8), computed in
    float32 once: the two ways differ in when, not in what."""
    import onnxruntime as ort
    from onnx import helper, TensorProto
    from lmf.export import _Graph, _int8
    for rows_, kept in ((SMALL_TABLE // 64, onnx.TensorProto.INT8), (SMALL_TABLE // 64 - 1, onnx.TensorProto.FLOAT)):
        table = np.random.default_rng(0).normal(size=(rows_, 64)).astype(np.float32)
        g = _Graph("int8")
        g.op("Identity", [g.rows("table", table, "ids")], output="y")
        graph = helper.make_graph(g.nodes, "t", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B"])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 64])], g.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(tmp_path / f"optimized-{rows_}.onnx")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        kinds = {(tuple(i.dims), i.data_type) for i in onnx.load(tmp_path / f"optimized-{rows_}.onnx").graph.initializer}
        assert {kind for dims, kind in kinds if dims == (rows_, 64)} == {kept}
        ids = np.array([0, rows_ // 2, rows_ - 1], np.int64)
        q, scale = _int8(table, 1)
        np.testing.assert_array_equal(session.run(["y"], {"ids": ids})[0], q[ids].astype(np.float32) * scale)


def test_int8_linear_quantizes_each_row_of_its_input_alone():
    """A worked example of _Graph.int8_linear, two rows through a 3 x 1 matrix of ones, bias 0.5.
    The matrix: scale 1/127, values 127. Row [0, 1, 2]: scale 2/127, x / scale = [0, 63.5, 127],
    rounded half to even [0, 64, 127]; the int32 sum 191 x 127 = 24,257, times 1/127 and 2/127 =
    382/127 = 3.00787, plus 0.5 = 3.50787 (exact: 3.5; the error is half a step of the row's scale).
    Row [4, 0, 0]: scale 4/127, [127, 0, 0], 127 x 127 x 4/127^2 = 4, plus 0.5 = 4.5, whatever
    the other row holds: each row has its own scale."""
    import onnxruntime as ort
    from onnx import helper, TensorProto
    from lmf.export import _Graph
    g = _Graph("int8")
    g.int8_linear("x", np.ones((3, 1), np.float32), np.array([0.5], np.float32), output="y")
    graph = helper.make_graph(g.nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 1])], g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    together = session.run(None, {"x": np.array([[0, 1, 2], [4, 0, 0]], np.float32)})[0]
    np.testing.assert_allclose(together, [[0.5 + 382 / 127], [4.5]], rtol=1e-6)
    alone = session.run(None, {"x": np.array([[4, 0, 0]], np.float32)})[0]
    np.testing.assert_array_equal(alone, together[1:])


def words_of(export_dir):
    return json.loads(zlib.decompress((export_dir / "words.zlib").read_bytes()))


def test_tokenizer_files_of_every_kind(zoo):
    """A plain model's tokenizer.json is exactly the words file's name, its labels and
    lmf.tokenize.settings(); words.zlib is its words as a compact JSON array at zlib level 9, the
    same bytes at every precision; the n-gram keys appear only for n-gram models."""
    saved = load_model(zoo["dan-dense"]["saved"])
    for precision in ("fp32", "fp16", "int8"):
        assert (zoo["dan-dense"][precision] / "tokenizer.json").read_text(encoding="utf-8") == json.dumps(
            {"words": "words.zlib", "label_names": saved.label_names, "tokenizer": settings()}, ensure_ascii=False)
        assert (zoo["dan-dense"][precision] / "words.zlib").read_bytes() == zlib.compress(
            json.dumps(saved.vocab.itos, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 9)
    for kind in KINDS:
        keys = json.loads((zoo[kind]["fp32"] / "tokenizer.json").read_text())["tokenizer"].keys()
        assert keys - settings().keys() == ({"word_ngrams", "buckets", "ngram_hash"} if "ngram" in kind else set())


def test_words_zlib_is_about_a_third_of_the_json_array(data_dir):
    """SST-2's vocabulary, 14,733 words: as the JSON array format_version 2 kept in tokenizer.json,
    172,566 bytes; words.zlib, 61,863 (0.36x), which on the recommended SST-2 DAN's export (model.onnx
    101,982 bytes) turns the words from 63 % of its bytes into 38 %."""
    vocab = load_dataset("sst2").vocab
    array = len(json.dumps(vocab.itos, ensure_ascii=False).encode())
    packed = len(words_content(SimpleNamespace(vocab=vocab)))
    assert len(vocab.itos) == 14_733 and array == 172_566
    assert packed < 0.4 * array


def test_ngram_export_is_a_dan_graph_with_its_buckets(zoo):
    """The n-gram DAN's graph is the DAN's, node for node; its table has V + BUCKETS rows and
    tokenizer.json says how the bucket ids are made."""
    ops = lambda kind: [n.op_type for n in onnx.load(zoo[kind]["fp32"] / "model.onnx").graph.node]
    assert ops("dan_ngram-dense") == ops("dan-dense") and ops("dan_ngram-lmf") == ops("dan-lmf")
    saved = load_model(zoo["dan_ngram-dense"]["saved"])
    tokenizer = json.loads((zoo["dan_ngram-dense"]["fp32"] / "tokenizer.json").read_text())
    assert tokenizer["tokenizer"]["word_ngrams"] == 2 and tokenizer["tokenizer"]["buckets"] == BUCKETS
    assert saved.config["vocab_size"] == len(words_of(zoo["dan_ngram-dense"]["fp32"])) + BUCKETS


def test_pruned_export_lists_only_the_kept_words(zoo):
    """R = 90 keeps a tenth of the rows: words.zlib lists those words only, the most frequent,
    and is accordingly smaller than the dense model's."""
    full, kept = words_of(zoo["dan-dense"]["int8"]), words_of(zoo["dan-prune"]["int8"])
    assert kept == full[:len(full) // 10]
    assert (zoo["dan-prune"]["int8"] / "words.zlib").stat().st_size < \
        0.2 * (zoo["dan-dense"]["int8"] / "words.zlib").stat().st_size


def test_quantized_model_exports_dequantized_weights(zoo):
    manifest = json.loads((zoo["dan-quant8"]["fp32"] / "manifest.json").read_text())
    assert manifest["source_bits"] == 8 and "dequantized" in manifest["note"]
    assert manifest["files"].keys() == {"model.onnx", "tokenizer.json", "words.zlib"}


def test_out_directory_rules(zoo, tmp_path):
    """An empty directory or an earlier export is replaced; anything else is refused untouched."""
    saved = zoo["dan-lmf"]["saved"]
    (tmp_path / "empty").mkdir()
    assert is_export(export_model(saved, tmp_path / "empty"))
    assert is_export(export_model(saved, tmp_path / "empty", int8=True))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="lmf did not write"):
        export_model(saved, tmp_path / "mine")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]  # no temporary left behind
    inside = Path(saved) / "onnx"  # the saved model would hold a folder lmf did not write there
    with pytest.raises(ExportError, match="inside the saved model"):
        export_model(saved, inside)
    assert not inside.exists()


def test_reexport_keeps_a_users_file(zoo, tmp_path, capsys):
    """Issue 23.2: `export M --out E; echo n > E/notes.txt; export M --int8 --out E` deleted
    notes.txt. An earlier export is replaced only while it holds nothing but what lmf wrote: with
    notes.txt added, or tokenizer.json changed, the second export exits 2 naming the file and E is
    as it was; once E holds only the export again, it is replaced."""
    saved = str(zoo["dan-lmf"]["saved"])
    out = tmp_path / "E"
    assert main(["export", saved, "--out", str(out)]) == 0
    (out / "notes.txt").write_text("n\n")
    capsys.readouterr()
    assert main(["export", saved, "--int8", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out} holds files lmf did not write (notes.txt)"), err
    assert (out / "notes.txt").read_text() == "n\n" and json.loads((out / "manifest.json").read_text())["precision"] == "fp32"
    (out / "notes.txt").unlink()
    tokenizer = (out / "tokenizer.json").read_text()
    (out / "tokenizer.json").write_text(tokenizer.replace('"label_names"', '"label_names" '))
    assert main(["export", saved, "--int8", "--out", str(out)]) == 2
    assert "tokenizer.json (changed since lmf wrote it)" in capsys.readouterr().err
    (out / "tokenizer.json").write_text(tokenizer)
    assert main(["export", saved, "--int8", "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["precision"] == "int8" and is_export(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["E"]


def test_cli_export(zoo, tmp_path, capsys):
    saved = zoo["lstm-lmf"]["saved"]
    assert main(["export", str(saved), "--out", str(tmp_path / "e"), "--int8"]) == 0
    assert "(int8)" in capsys.readouterr().out and json.loads((tmp_path / "e" / "manifest.json").read_text())["int8"]
    assert main(["export", str(saved), "--out", str(tmp_path / "h"), "--fp16"]) == 0
    assert "(fp16)" in capsys.readouterr().out
    assert json.loads((tmp_path / "h" / "manifest.json").read_text())["precision"] == "fp16"
    with pytest.raises(SystemExit):  # one precision at a time
        main(["export", str(saved), "--out", str(tmp_path / "b"), "--fp16", "--int8"])
    capsys.readouterr()
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    assert main(["export", str(saved), "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["export", str(tmp_path / "nothing"), "--out", str(tmp_path / "y")]) == 2
    assert "no saved model" in capsys.readouterr().err
