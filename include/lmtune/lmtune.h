/* lmtune: fine-tune Hugging Face transformer models in C.
 *
 * Public API. Every function that can fail returns an lmt_status; on failure
 * lmt_last_error() gives a message naming the file and the problem. The
 * library never prints (except warnings through lmt_set_log) and never exits.
 * Objects are opaque handles made by a _create / _load function and released
 * by its _free (NULL is fine); memory a function hands over says so.
 *
 * Include what you use; each header includes this one:
 *   lmtune/lmtune.h     status codes, dtypes, model folders (this file)
 *   lmtune/tokenizer.h  tokenizers
 *   lmtune/chat.h       chat templates (apply_chat_template)
 *   lmtune/data.h       datasets (text, JSON Lines, CSV), tokenization,
 *                       group_texts, splits, collators (CLM, MLM, seq2seq)
 *   lmtune/trainer.h    TrainingArguments and the Trainer
 *   lmtune/generate.h   generate(): greedy, sampling, beam search
 *   lmtune/pipeline.h   text-generation, fill-mask and translation pipelines
 * Link with `pkg-config --cflags --libs lmtune` (liblmtune.so), or name
 * liblmtune.a followed by `pkg-config --static --libs lmtune` less -llmtune.
 */
#ifndef LMTUNE_H
#define LMTUNE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LMTUNE_VERSION "0.1.0"

/* Marks the functions the shared library exports (everything else in it is
 * hidden). */
#if defined(__GNUC__)
#define LMT_API __attribute__((visibility("default")))
#else
#define LMT_API
#endif

typedef enum lmt_status {
    LMT_OK = 0,
    LMT_ERR_IO,          /* a file could not be opened, read or written */
    LMT_ERR_FORMAT,      /* a file is corrupt, truncated or malformed */
    LMT_ERR_UNSUPPORTED, /* valid input that lmtune does not handle (yet) */
    LMT_ERR_ARG,         /* an impossible argument */
    LMT_ERR_NOMEM,
    LMT_ERR_NOT_FOUND,   /* a required file, tensor or field is missing */
    LMT_ERR_INTERNAL,
    LMT_ERR_NETWORK,     /* a server could not be reached, or the transfer broke off */
    LMT_ERR_ACCESS,      /* a server refused: a private or gated repo, a missing or wrong token */
    LMT_ERR_INTERRUPTED  /* training stopped on request (SIGINT) after saving a checkpoint */
} lmt_status;

/* Message of the last failure on this thread ("" if none). */
LMT_API const char *lmt_last_error(void);
LMT_API const char *lmt_status_name(lmt_status s);

/* Warnings and notes from the library ("a fresh MLM head was initialised").
 * Default: written to stderr with a "lmtune: warning: " prefix. */
typedef void (*lmt_log_fn)(int level, const char *msg, void *user);
enum { LMT_LOG_NOTE = 0, LMT_LOG_WARN = 1 };
LMT_API void lmt_set_log(lmt_log_fn fn, void *user);

/* ---- the machine ----------------------------------------------------- */
/* What lmtune runs on, one "key: value" line each: the CPU model, the
 * features lmtune looks at, the instruction-set level in use (generic <
 * neon < avx2 < avx512 < amx: the CPU's best unless LMT_ISA in the
 * environment caps it), and the kernels that level picks for matrix
 * products, decoding and element-wise work. Valid until the next call. */
LMT_API const char *lmt_system_info(void);
/* LMT_OK when LMT_ISA is unset or names a level this CPU can run;
 * LMT_ERR_ARG with the reason in lmt_last_error() otherwise (the kernels
 * would fall back to the CPU's best, which a benchmark must not mistake for
 * the level it asked for). */
LMT_API lmt_status lmt_check_environment(void);

/* ---- dtypes ---------------------------------------------------------- */
typedef enum lmt_dtype {
    LMT_F32 = 0, LMT_F16, LMT_BF16, LMT_F64,
    LMT_I64, LMT_I32, LMT_I16, LMT_I8, LMT_U8, LMT_BOOL,
    LMT_DTYPE_COUNT
} lmt_dtype;
LMT_API const char *lmt_dtype_name(lmt_dtype t);   /* safetensors spelling: "F32" */
LMT_API size_t lmt_dtype_size(lmt_dtype t);

#define LMT_MAX_DIMS 8

/* ---- model folders ----------------------------------------------------- */
typedef struct lmt_model lmt_model;

typedef enum lmt_arch {
    LMT_ARCH_GPT2 = 0,       /* GPT2LMHeadModel */
    LMT_ARCH_BERT,           /* BertForMaskedLM */
    LMT_ARCH_ROBERTA,        /* RobertaForMaskedLM */
    LMT_ARCH_DISTILBERT,     /* DistilBertForMaskedLM */
    LMT_ARCH_MARIAN,         /* MarianMTModel */
    LMT_ARCH_LLAMA,          /* LlamaForCausalLM (Llama 2/3, SmolLM2, TinyLlama) */
    LMT_ARCH_MISTRAL,        /* MistralForCausalLM */
    LMT_ARCH_QWEN2,          /* Qwen2ForCausalLM */
    LMT_ARCH_COUNT
} lmt_arch;
LMT_API const char *lmt_arch_name(lmt_arch a);       /* "gpt2" (HF model_type) */
LMT_API const char *lmt_arch_class_name(lmt_arch a); /* "GPT2LMHeadModel" */

/* Loads config.json (+ generation_config.json) and the weights
 * (model.safetensors, else pytorch_model.bin) of an HF model folder. */
LMT_API lmt_status lmt_model_load(const char *dir, lmt_model **out);
/* Writes config.json, generation_config.json and model.safetensors the way
 * transformers' save_pretrained does; files are written to temporary names
 * and renamed. */
LMT_API lmt_status lmt_model_save(const lmt_model *m, const char *dir);
/* How lmt_model_save writes the weights. dtype: "auto" (the default: the
 * checkpoint's config "dtype" / "torch_dtype", else the dtype its weights
 * were stored in, else float32), "float32", "bfloat16" or "float16"; NULL
 * keeps the current choice. max_shard_size: as save_pretrained's ("5GB",
 * "500MB", "100KB", bytes as a number; units are powers of 1000); above it
 * the weights go to model-0000N-of-0000M.safetensors shards with a
 * model.safetensors.index.json; NULL keeps the current choice ("50GB"). */
LMT_API lmt_status lmt_model_set_save_options(lmt_model *m, const char *dtype, const char *max_shard_size);
LMT_API void lmt_model_free(lmt_model *m);

LMT_API lmt_arch lmt_model_arch(const lmt_model *m);
LMT_API size_t lmt_model_num_params(const lmt_model *m);     /* unique parameters */
LMT_API float *lmt_model_params(lmt_model *m);                /* one flat fp32 buffer */
LMT_API size_t lmt_model_num_tensors(const lmt_model *m);
/* i-th parameter tensor: its HF name, shape and place in the flat buffer. */
typedef struct lmt_param_info {
    const char *hf_name;
    int ndim;
    int64_t shape[LMT_MAX_DIMS];
    size_t offset;   /* in floats, into lmt_model_params() */
    size_t numel;
    bool no_decay;   /* bias or LayerNorm weight: no weight decay */
} lmt_param_info;
LMT_API lmt_status lmt_model_param_info(const lmt_model *m, size_t i, lmt_param_info *out);

#ifdef __cplusplus
}
#endif
#endif
