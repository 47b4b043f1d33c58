"""Tiny random models for every Pipelines-tab task, built offline from configs, plus audio test files.

Cached on disk next to the other tiny models (``tiny_models.cache_root().parent``), in a folder keyed by a hash of
this file, so a change to a builder rebuilds. Outputs are gibberish: tests assert shapes, types and errors only.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import tiny_models  # noqa: F401  (offline environment variables first)
from tiny_models import _build_once, build_bert_tokenizer

NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
_CORPUS = ["The quick brown fox jumps over the lazy dog. Hello world! How are you today?",
           "Paris is the capital of France. Berlin is the capital of Germany. John Smith works at Acme Corp.",
           "a happy piano melody with soft drums, lofi beat, a painting of a squirrel eating a burger",
           "Question: what is the capital of France? Answer: Paris. Summarize this article in one sentence."]

# Catalog ids a test models directory may map to these models (added only where no other link exists yet).
PIPELINE_STANDINS = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": "sentiment",
    "facebook/bart-large-mnli": "zeroshot",
    "dslim/bert-base-NER": "ner",
    "distilbert/distilbert-base-cased-distilled-squad": "qa",
    "sshleifer/distilbart-cnn-12-6": "summarization",
    "Helsinki-NLP/opus-mt-en-fr": "translation",
    "Helsinki-NLP/opus-mt-en-de": "translation",
    "Helsinki-NLP/opus-mt-en-es": "translation",
    "distilbert/distilroberta-base": "fill-mask",
    "sentence-transformers/all-MiniLM-L6-v2": "feature-extraction",
    "openai/whisper-tiny": "whisper",
    "facebook/mms-tts-eng": "vits",
    "facebook/musicgen-small": "musicgen",
}


def _lines() -> list[str]:
    return _CORPUS * 30


def _bert_cfg(tok, **extra):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id, **extra)


def _bert(out: Path, cls_name: str, **extra) -> None:
    import torch
    import transformers

    torch.manual_seed(0)
    tok = build_bert_tokenizer(out)
    tok.model_max_length = 128
    tok.save_pretrained(out)
    getattr(transformers, cls_name)(_bert_cfg(tok, **extra)).save_pretrained(out)


def _labels(names) -> dict:
    id2label = dict(enumerate(names)) if isinstance(names, list) else names
    return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


def build_sentiment(out: Path) -> None:
    """BERT sequence classifier with NEGATIVE/POSITIVE labels."""
    _bert(out, "BertForSequenceClassification", **_labels(["NEGATIVE", "POSITIVE"]))


def build_zeroshot(out: Path) -> None:
    """NLI classifier (an 'entailment' label, as zero-shot classification needs)."""
    _bert(out, "BertForSequenceClassification", **_labels(NLI_LABELS))


def build_ner(out: Path) -> None:
    """BERT token classifier with CoNLL BIO labels."""
    _bert(out, "BertForTokenClassification", **_labels(NER_LABELS))


def build_qa(out: Path) -> None:
    """BERT extractive question answering (start/end logits)."""
    _bert(out, "BertForQuestionAnswering")


def build_fill_mask(out: Path) -> None:
    """BERT masked LM ([MASK] token)."""
    _bert(out, "BertForMaskedLM")


def build_feature_extraction(out: Path) -> None:
    """A bare BERT encoder (sentence embeddings by mean pooling)."""
    _bert(out, "BertModel")


def _bart_tokenizer(out: Path):
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = tiny_models._bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], vocab_size=800)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                 unk_token="<unk>", mask_token="<mask>", cls_token="<s>", sep_token="</s>",
                                 model_max_length=128)
    hf.save_pretrained(out)
    return hf


def build_summarization(out: Path) -> None:
    """Tiny BART for conditional generation with a summarization generation config."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, GenerationConfig

    torch.manual_seed(0)
    tok = _bart_tokenizer(out)
    model = BartForConditionalGeneration(BartConfig(
        vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128,
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.eos_token_id, forced_bos_token_id=tok.bos_token_id))
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, forced_bos_token_id=tok.bos_token_id, num_beams=2, max_length=40)
    model.save_pretrained(out)


def _spm(vocab_size: int, **kw) -> bytes:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(_lines()), model_writer=buf, vocab_size=vocab_size,
                                   model_type="unigram", hard_vocab_limit=False, minloglevel=2, num_threads=1, **kw)
    return buf.getvalue()


def build_translation(out: Path) -> None:
    """Tiny Marian MT model with its sentencepiece tokenizer (the OPUS-MT layout)."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    (out / "source.spm").write_bytes(_spm(200, pad_id=-1, eos_id=-1, bos_id=-1, unk_id=0))
    (out / "target.spm").write_bytes((out / "source.spm").read_bytes())
    sp = spm.SentencePieceProcessor(model_file=str(out / "source.spm"))
    pieces = ["</s>", "<unk>", "<pad>"] + [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                                          if sp.id_to_piece(i) != "<unk>"]
    (out / "vocab.json").write_text(json.dumps({p: i for i, p in enumerate(pieces)}))
    tok = MarianTokenizer(str(out / "source.spm"), str(out / "target.spm"), str(out / "vocab.json"),
                          model_max_length=128)
    tok.save_pretrained(out)
    MarianMTModel(MarianConfig(
        vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id,
        forced_eos_token_id=tok.eos_token_id, max_length=32, num_beams=1)).save_pretrained(out)


def build_whisper(out: Path) -> None:
    """Tiny Whisper: the Minutes tab's builder (one recipe for both tabs)."""
    import tiny_minutes

    tiny_minutes.build_whisper(out)


def build_vits(out: Path) -> None:
    """Tiny VITS (the MMS-TTS architecture) with a character tokenizer (no phonemizer)."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz '.,!?-"))
    vocab = {"<pad>": 0, "<unk>": 1, **{c: i + 2 for i, c in enumerate(chars)}}
    (out / "vocab.json").write_text(json.dumps(vocab))
    VitsTokenizer(str(out / "vocab.json"), phonemize=False, add_blank=True, normalize=True).save_pretrained(out)
    VitsModel(VitsConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, ffn_dim=64,
        flow_size=32, spectrogram_bins=65, upsample_initial_channel=32, upsample_rates=[8, 8, 4],
        upsample_kernel_sizes=[16, 16, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        prior_encoder_num_flows=1, prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
        duration_predictor_num_flows=1, duration_predictor_filter_channels=32, depth_separable_num_layers=1,
        sampling_rate=16000, pad_token_id=0)).save_pretrained(out)


def build_musicgen(out: Path) -> None:
    """Tiny MusicGen: T5 text encoder + EnCodec (32 kHz, 50 frames/s, 4 codebooks) + decoder."""
    import sentencepiece as spm
    import torch
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
        T5Tokenizer,
    )

    torch.manual_seed(0)
    sp = spm.SentencePieceProcessor(model_proto=_spm(120, pad_id=0, eos_id=1, unk_id=2, bos_id=-1))
    tok = T5Tokenizer(vocab=[(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())], extra_ids=0)
    enc = EncodecConfig(target_bandwidths=[2.2], sampling_rate=32000, audio_channels=1, normalize=False,
                        num_filters=4, num_residual_layers=1, upsampling_ratios=[8, 5, 4, 4], codebook_size=64,
                        codebook_dim=16, hidden_size=16, num_lstm_layers=1)
    dec = MusicgenDecoderConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                ffn_dim=64, num_codebooks=enc.num_quantizers, max_position_embeddings=1600,
                                pad_token_id=64, bos_token_id=64)
    t5 = T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=2)
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=t5, audio_encoder=enc, decoder=dec))
    gc = model.generation_config
    gc.pad_token_id, gc.decoder_start_token_id, gc.max_new_tokens = 64, 64, 256
    gc.do_sample, gc.guidance_scale = True, 3.0
    model.save_pretrained(out)
    processor = MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(sampling_rate=32000), tokenizer=tok)
    processor.save_pretrained(out)


BUILDERS = {
    "sentiment": build_sentiment, "zeroshot": build_zeroshot, "ner": build_ner, "qa": build_qa,
    "fill-mask": build_fill_mask, "feature-extraction": build_feature_extraction,
    "summarization": build_summarization, "translation": build_translation, "whisper": build_whisper,
    "vits": build_vits, "musicgen": build_musicgen,
}


_FIXTURES_MARK = b"\n# ---- pytest " + b"fixtures"  # split so that this line does not match itself


def _fingerprint() -> str:
    # the builders only: editing the fixtures below rebuilds nothing
    src = Path(__file__).read_bytes().split(_FIXTURES_MARK)[0] + Path(tiny_models.__file__).read_bytes()
    return hashlib.sha256(src).hexdigest()[:12]


def cache_root() -> Path:
    """Where these models live (one folder per builder hash)."""
    return tiny_models.cache_root().parent / f"pipelines-{_fingerprint()}"


def build_all() -> dict[str, Path]:
    """Build (or reuse) every tiny pipeline model. Returns name → folder."""
    import tiny_images  # the Images tab's tiny FLUX: one builder for both tabs

    root = cache_root()
    paths = {name: _build_once(root, name, fn) for name, fn in BUILDERS.items()}
    paths["flux"] = tiny_images.build_tiny_flux()
    return paths


def link_standins(paths: dict[str, Path], models_dir: Path) -> None:
    """Make catalog ids resolve to tiny models in ``models_dir`` (never replaces an existing link)."""
    tiny_models.build_models_dir(paths, models_dir, PIPELINE_STANDINS)


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def build_audio(out: Path) -> dict[str, Path]:
    """Audio files for tests: speech at 22.05 kHz (needs resampling), 35 s of audio, a corrupt and an empty file."""
    out.mkdir(parents=True, exist_ok=True)
    speech = out / "speech-22k.wav"
    if not speech.exists():
        if shutil.which("espeak-ng"):
            _run(["espeak-ng", "-w", str(speech), "Hello world. This is a short test of speech recognition."])
        else:
            _run(["ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=3:sample_rate=22050",
                  str(speech)])
    long_ = out / "long-35s.ogg"
    if not long_.exists():
        _run(["ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=300:duration=35:sample_rate=16000",
              "-c:a", "libopus", "-b:a", "12k", str(long_)])
    corrupt = out / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    empty = out / "empty.wav"
    empty.write_bytes(b"")
    return {"speech": speech, "long": long_, "corrupt": corrupt, "empty": empty}


if __name__ == "__main__":
    for key, value in build_all().items():
        print(f"{key}: {value}")


# ---- pytest fixtures (import them into a test module: ``from tiny_pipelines import catalog, ...``)

try:
    import pytest
except ImportError:  # the builders above work without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def pl_models(tiny, models_dir) -> dict:
        """name → folder of every tiny pipeline model; catalog task defaults linked into the models dir."""
        import tiny_images

        paths = build_all()
        link_standins(paths, models_dir)
        tiny_images.link_into_models_dir(models_dir)
        return paths

    @pytest.fixture(scope="session")
    def audio_files(tmp_path_factory) -> dict:
        """speech (22.05 kHz wav), long (35 s ogg), corrupt and empty files."""
        return build_audio(tmp_path_factory.mktemp("audio"))

    @pytest.fixture()
    def catalog(pl_models, models_dir, monkeypatch):
        """Catalog ids resolve to tiny models in this process."""
        monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
        return pl_models
