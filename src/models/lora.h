/* LoRA adapters as peft defines them (LoraConfig, LoraModel): which linear
 * layers get one (target_modules), their rank, scaling and dropout, which
 * base tensors train too (bias, modules_to_save), and the files
 * PeftModel.save_pretrained writes (adapter_config.json,
 * adapter_model.safetensors). The adapters' A and B live in one flat
 * buffer (and their gradients in another); the blocks reach them through
 * the net's adapter slots (models/blocks/adapter.h). See docs/LORA.md. */
#ifndef LMT_MODELS_LORA_H
#define LMT_MODELS_LORA_H
#include <stdbool.h>
#include <stdint.h>
#include "models/blocks/adapter.h"
#include "models/model.h"
#include "models/net.h"

typedef enum { LMT_LORA_BIAS_NONE, LMT_LORA_BIAS_ALL, LMT_LORA_BIAS_LORA_ONLY } lmt_lora_bias;

typedef struct lmt_lora_config {
    int r;
    double alpha, dropout;
    bool use_rslora, fan_in_fan_out;
    char **targets;              /* module-name suffixes (peft's list form), or NULL */
    int n_targets;
    char *target_regex;          /* a string target_modules: full match (POSIX ERE), or NULL */
    bool all_linear;             /* "all-linear": every linear layer but the output layer */
    lmt_lora_bias bias;
    char **modules_to_save;      /* suffixes, as targets */
    int n_save;
    char *base_model;            /* base_model_name_or_path, or NULL */
    char *task_type;             /* or NULL */
} lmt_lora_config;

/* r 8, alpha 8, dropout 0, no targets (peft's defaults). */
void lmt_lora_config_default(lmt_lora_config *c);
/* adapter_config.json as peft writes it, tolerating null fields, missing
 * and obsolete keys and integers for floats; errors name the file. */
lmt_status lmt_lora_config_load(const char *path, lmt_lora_config *out);
/* targets from a list separated by commas and/or spaces ("q_proj,v_proj",
 * "q_proj v_proj" as TRL's nargs list quoted), or "all-linear". */
lmt_status lmt_lora_config_set_targets(lmt_lora_config *c, const char *list);
void lmt_lora_config_free(lmt_lora_config *c);

typedef struct lmt_lora {
    lmt_lora_config cfg;
    lmt_model *model;            /* not owned */
    int n;                       /* adapters, in layout order */
    lmt_adapter *ad;             /* (n) */
    long *param;                 /* (n) the layout index of each adapted weight */
    float *params, *grads;       /* flat: A then B of each adapter, then the trained base tensors' copies;
                                    grads NULL until attached with gradients */
    size_t num_floats;
    lmt_adapter **by_param;      /* (layout params) */
    bool *trainable;             /* (layout params) base tensors that train too (bias, modules_to_save) */
    float **copy, **gcopy;       /* (layout params) their trained copies in params (after A and B) and
                                    the copies' gradients in grads; NULL for the others */
    size_t saved_floats;         /* modules_to_save's share of them (extra parameters, as peft's copies) */
    float *scratch;              /* activations of lmt_lora_attach */
    lmt_layout layout;           /* A and B as flat-buffer tensors named as peft saves them (the optimizer's) */
    uint64_t seed_state;
} lmt_lora;

/* Adapters on m's matching linear layers: A kaiming-uniform(a = sqrt(5)),
 * B zero (so the model's output is unchanged), A drawn as
 * torch.manual_seed(seed); get_peft_model(model, config) draws it (torch's
 * CPU generator, the same values bit for bit). `source` names the config in
 * errors (a file or "--lora_target_modules"). */
lmt_status lmt_lora_create(lmt_model *m, const lmt_lora_config *cfg, uint64_t seed, const char *source, lmt_lora **out);
/* A peft adapter folder (adapter_config.json + adapter_model.safetensors or
 * adapter_model.bin) for m; shapes are checked against m. */
lmt_status lmt_lora_load(lmt_model *m, const char *dir, lmt_lora **out);
/* A and B (and trained base tensors) from dir/adapter_model.safetensors
 * (or .bin) into l's buffers; shapes checked. */
lmt_status lmt_lora_read_weights(lmt_lora *l, const char *dir);
/* Writes dir/adapter_config.json and dir/adapter_model.safetensors as
 * PeftModel.save_pretrained does. */
lmt_status lmt_lora_save(const lmt_lora *l, const char *dir);
/* Plugs the adapters into n (a model net set up for max_rows rows per
 * linear layer): gradients for A and B when n has gradients, the frozen
 * base tensors without gradient slots. */
lmt_status lmt_lora_attach(lmt_lora *l, lmt_net *n, size_t max_rows);
/* merge_and_unload(): W += scaling * B A in the model's parameters, the
 * trained biases / modules_to_save copies in place of the originals. */
void lmt_lora_merge(lmt_lora *l);
/* The merge for a while (generation during training): *saved receives the
 * model's tensors the merge changes (malloc'd), lmt_lora_unmerge puts them
 * back bit for bit and frees them. */
lmt_status lmt_lora_merge_in(lmt_lora *l, float **saved);
void lmt_lora_unmerge(lmt_lora *l, float *saved);
/* print_trainable_parameters()' numbers. */
void lmt_lora_counts(const lmt_lora *l, int64_t *trainable, int64_t *all);
/* The saved (peft) name of adapter i's A or B: "base_model.model.<module>.lora_A.weight". */
void lmt_lora_tensor_name(const lmt_lora *l, int i, bool b, char *buf, size_t size);
void lmt_lora_free(lmt_lora *l);
#endif
