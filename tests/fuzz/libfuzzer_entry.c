/* The libFuzzer entry point over a target of fuzz.h (XEND_FUZZ=ON builds only). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return xend_fuzz_target(data, size);
}
