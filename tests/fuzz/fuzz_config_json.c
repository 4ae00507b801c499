/* fuzz_config_json.c: feeds arbitrary bytes as a model config JSON to
 * sibvad_config_from_json (sibvad-core/config-json.c over json.c: presets,
 * every key's type and range, validation). A config that is accepted is
 * written with sibvad_config_to_json and read again: the result must be the
 * same config, byte for byte. */
#include "fuzz-util.h"
#include "sibvad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sibvad_config c, c2;
    sibvad_error e;
    e.msg[0] = '\0';
    if (sibvad_config_from_json(&c, (const char *)data, size, &e) < 0) {
        if (!e.msg[0])
            fuzz_die("config rejected without a message", NULL);
        fuzz_note("rejected", e.msg);
        return 0;
    }
    if (sibvad_config_validate(&c, &e) < 0)
        fuzz_die("an accepted config does not validate", e.msg);
    (void)sibvad_config_grid_h(&c);
    (void)sibvad_config_grid_w(&c);
    char *js = sibvad_config_to_json(&c);
    if (!js)
        fuzz_die("sibvad_config_to_json failed", NULL);
    if (sibvad_config_from_json(&c2, js, strlen(js), &e) < 0)
        fuzz_die("the written config does not read back", e.msg);
    if (memcmp(&c, &c2, sizeof c) != 0)
        fuzz_die("the config differs after a round trip", js);
    fuzz_note("accepted", NULL);
    free(js);
    return 0;
}
