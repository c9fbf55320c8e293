// Non-variadic wrappers around libcurl's variadic functions, which Swift cannot call.
// One wrapper per value kind; each passes the value through unchanged.
#ifndef MUSTER_CCURL_SHIM_H
#define MUSTER_CCURL_SHIM_H

#include <curl/curl.h>

/// The signature shared by CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION and CURLOPT_READFUNCTION.
typedef size_t (*muster_curl_data_callback)(char *buffer, size_t size, size_t count, void *context);

static const long muster_curl_global_default = CURL_GLOBAL_DEFAULT;
static const int muster_curl_error_size = CURL_ERROR_SIZE;
static const size_t muster_curl_readfunc_abort = CURL_READFUNC_ABORT;

// curl_easy_setopt
static inline CURLcode muster_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode muster_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode muster_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode muster_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode muster_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode muster_curl_easy_setopt_callback(CURL *handle, CURLoption option, muster_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

// curl_easy_getinfo
static inline CURLcode muster_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode muster_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode muster_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode muster_curl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

// curl_multi_setopt
static inline CURLMcode muster_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

/// The version information of the libcurl this process runs with.
static inline curl_version_info_data *muster_curl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}

/// The result code of a finished transfer (the `data` member of CURLMsg is a union).
static inline CURLcode muster_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
