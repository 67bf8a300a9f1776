/* sc_names: the shard-id alphabet, shard URLs and the client-key rule. */
#include "sc_names.h"

/* Spelled out rather than isalnum(): the rule must not follow the locale. */
static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

int sc_name_valid(const char *s)
{
    size_t i;

    if (!s)
        return 0;
    for (i = 0; s[i]; i++)
        if (i == SC_NAME_MAX || !name_char((unsigned char)s[i]))
            return 0;
    return i > 0;
}

int sc_shard_url_valid(const char *url)
{
    size_t i;

    if (!url)
        return 0;
    for (i = 0; url[i]; i++) {
        unsigned char c = (unsigned char)url[i];

        if (i == SC_SHARD_URL_MAX || c < 0x21 || c > 0x7E || c == '"' || c == '\\')
            return 0;
    }
    return i > 0;
}

int sc_key_valid(const char *key, size_t len)
{
    if (len == 0 || len > SC_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7F)
            return 0;
    return 1;
}
