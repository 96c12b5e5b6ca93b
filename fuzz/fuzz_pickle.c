/* The restricted unpickler alone (data.pkl of a torch.save archive), on the
 * bytes directly: the zip layer's CRC check does not stand in the way. */
#include "fuzz_common.h"
#include "io/pickle.h"

int lmt_fuzz_one(const uint8_t *data, size_t size) {
    lmt_pickle_state_dict sd = {0};
    if (lmt_pickle_load_state_dict(data, size, "data.pkl", &sd) == LMT_OK) {
        volatile size_t sum = 0;
        for (size_t i = 0; i < sd.n; i++) sum += strlen(sd.tensors[i].name) + strlen(sd.tensors[i].storage_key);
    }
    lmt_pickle_state_dict_free(&sd);
    return 0;
}
