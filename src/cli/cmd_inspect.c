/* lmtune inspect DIR: what a model folder holds and how lmtune reads it. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/hub_flags.h"
#include "core/util.h"
#include "models/model.h"

static void print_shape(int ndim, const int64_t *shape) {
    printf("[");
    for (int d = 0; d < ndim; d++) printf("%s%lld", d ? ", " : "", (long long)shape[d]);
    printf("]");
}

int lmt_cmd_inspect(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: lmtune inspect DIR\n\n"
                "Prints the architecture, the config, the parameter count, each tensor's\n"
                "name, dtype (as stored) and shape, and the weights that are missing from\n"
                "the checkpoint (newly initialized) or present but unused.\n");
        return argc < 2 ? 2 : 0;
    }
    const char *dir = lmt_cli_resolve(argv[1], true);
    if (!dir) return 1;
    lmt_model *m;
    if (lmt_model_load(dir, &m) != LMT_OK) {
        fprintf(stderr, "lmtune: error: %s\n", lmt_last_error());
        return 1;
    }
    const lmt_config *c = &m->cfg;
    printf("model folder:  %s\n", dir);
    printf("architecture:  %s (model_type %s)\n", lmt_arch_class_name(c->arch), lmt_arch_name(c->arch));
    printf("weights:       %s\n", m->report.weights_file);
    printf("config:        vocab %lld, positions %lld, hidden %lld, layers %lld, heads %lld, ffn %lld, activation %s, layer norm eps %g\n",
           (long long)c->vocab_size, (long long)c->max_positions, (long long)c->d_model, (long long)c->n_layer,
           (long long)c->n_head, (long long)c->d_ff, lmt_activation_name(c->act), c->layer_norm_eps);
    if (c->arch == LMT_ARCH_MARIAN)
        printf("decoder:       layers %lld, heads %lld, ffn %lld; decoder_start_token_id %lld, scale_embedding %s\n",
               (long long)c->dec_layers, (long long)c->dec_heads, (long long)c->dec_ffn,
               (long long)c->decoder_start_token_id, c->scale_embedding ? "true" : "false");
    printf("dropout:       hidden %g, attention %g, embeddings %g\n", c->dropout, c->attn_dropout, c->embd_dropout);
    printf("special ids:   pad %lld, bos %lld, eos %lld; tie_word_embeddings %s\n", (long long)c->pad_token_id,
           (long long)c->bos_token_id, (long long)c->eos_token_id, c->tie_word_embeddings ? "true" : "false");
    size_t trainable = 0;
    for (size_t i = 0; i < m->layout.n_params; i++)
        if (!(m->layout.params[i].flags & (LMT_PARAM_STATIC | LMT_PARAM_BUFFER))) trainable += m->layout.params[i].numel;
    printf("parameters:    %zu (%zu trainable) in %zu tensors\n", lmt_model_num_params(m), trainable, m->layout.n_params);
    printf("\ntensors:\n");
    for (size_t i = 0; i < m->layout.n_params; i++) {
        const lmt_param_spec *p = &m->layout.params[i];
        printf("  %-64s %-5s ", p->name, lmt_dtype_name(m->report.src_dtype[i]));
        print_shape(p->ndim, p->shape);
        if (p->flags & LMT_PARAM_STATIC) printf("  (static)");
        if (p->flags & LMT_PARAM_BUFFER) printf("  (buffer)");
        printf("\n");
    }
    for (size_t i = 0; i < m->layout.n_aliases; i++)
        printf("  %-64s tied to %s\n", m->layout.aliases[i].name, m->layout.aliases[i].target);
    printf("\nmissing (newly initialized): %zu\n", m->report.n_missing);
    for (size_t i = 0; i < m->report.n_missing; i++) printf("  %s\n", m->report.missing[i]);
    printf("unused (in the checkpoint, not used by %s): %zu\n", lmt_arch_class_name(c->arch), m->report.n_unused);
    for (size_t i = 0; i < m->report.n_unused; i++) printf("  %s\n", m->report.unused[i]);
    if (m->report.added_prefix) printf("note: checkpoint of the bare model; names were prefixed with \"%s\"\n", m->layout.base_prefix);
    lmt_model_free(m);
    return 0;
}
