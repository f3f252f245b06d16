/* test/http/test_parse.c - what the parser callbacks collect: the url, path
 * and query (with and without a '?'), header names and values (empty ones
 * too, first, middle and last), the same request arriving one byte per loop
 * iteration (the parser's spans then cross read boundaries), trailers of a
 * chunked body (counted, not kept, earlier strings intact), and a response
 * whose head is larger than any fixed estimate (the head is formatted
 * straight into the output buffer), and the cached 200 head against the
 * general serializer (with a current Date, and hl_http_time_epoch_ms of a
 * timestamp on the real clock), the url's '?' at every position of urls up to 40
 * bytes, Expect: 100-continue told by its name wherever it is, and header
 * strings and bodies of every length up to 70 bytes (the copies by length). */
/* strptime and timegm: _GNU_SOURCE comes from the build */
#include <time.h>
#include "common.h"

/* The body lists what the server saw: "METHOD url|path|query\n" then
 * "name=value\n" for each header. */
static void list_request(hl_http_req_t *req, hl_http_res_t *res) {
  char out[4096];
  int n = snprintf(out, sizeof out, "%s %s|%s|%s\n", hl_http_req_method(req), hl_http_req_url(req),
                   hl_http_req_path(req), hl_http_req_query(req));
  for (size_t i = 0; i < hl_http_req_header_count(req); i++) {
    const char *k, *v;
    cr_assert_eq(hl_http_req_header_at(req, i, &k, &v), 0);
    n += snprintf(out + n, sizeof out - (size_t)n, "%s=%s\n", k, v);
  }
  cr_assert_lt((size_t)n, sizeof out);
  cr_assert_eq(hl_http_res_end(res, out, (size_t)n), 0);
}

static void on_end(hl_http_req_t *req, void *arg) {
  list_request(req, arg);
}

static void handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  if (!strcmp(hl_http_req_method(req), "POST")) {
    cr_assert_eq(hl_http_req_on_body(req, NULL, on_end, res), 0);
    return;
  }
  list_request(req, res);
}

static const char *body_of(const char *in) {
  const char *b = strstr(in, "\r\n\r\n");
  cr_assert(b, "no response head: %s", in);
  return b + 4;
}

static const char req_text[] = "GET /a/b?x=1&y HTTP/1.1\r\n"
                               "X-Empty-First:\r\n"
                               "Host: h\r\n"
                               "X-Mid:   \r\n"
                               "Accept: */*\r\n"
                               "X-Last:\r\n"
                               "Connection: close\r\n"
                               "X-Really-Last:\r\n"
                               "\r\n";
static const char want[] = "GET /a/b?x=1&y|/a/b|x=1&y\n"
                           "X-Empty-First=\n"
                           "Host=h\n"
                           "X-Mid=\n"
                           "Accept=*/*\n"
                           "X-Last=\n"
                           "Connection=close\n"
                           "X-Really-Last=\n";

Test(http_parse, url_path_query_and_empty_values) {
  srv_start(handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, req_text);
  cr_assert_str_eq(body_of(c.in), want);
  hl_tc_raw_free(&c);
  srv_stop();
}

/* The path and query in each form: no '?' (the path is the url, the query
 * empty), an empty query, '?' first in the path's place, a query holding
 * another '?', and a request with no header at all (the url ends the head). */
Test(http_parse, path_and_query_forms) {
  static const struct {
    const char *req, *want;
  } cases[] = {
      {"GET /plain HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
       "GET /plain|/plain|\nHost=h\nConnection=close\n"},
      {"GET /p? HTTP/1.1\r\nConnection: close\r\n\r\n", "GET /p?|/p|\nConnection=close\n"},
      {"GET /?a=b?c HTTP/1.1\r\nConnection: close\r\n\r\n",
       "GET /?a=b?c|/|a=b?c\nConnection=close\n"},
      {"GET /no/headers?x HTTP/1.0\r\n\r\n", "GET /no/headers?x|/no/headers|x\n"},
      {"GET /none HTTP/1.0\r\n\r\n", "GET /none|/none|\n"},
  };
  srv_start(handler, NULL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hl_tc_raw_t c;
    raw_exchange(&c, cases[i].req);
    cr_assert_str_eq(body_of(c.in), cases[i].want, "case %zu", i);
    hl_tc_raw_free(&c);
  }
  srv_stop();
}

/* One byte per loop iteration: each immediate sends the next byte, and the
 * poll phase between two immediates lets the server read what has come. */
typedef struct {
  hl_tc_raw_t *c;
  const char *s;
  size_t i, n;
} drip_t;

static void drip(void *arg) {
  drip_t *d = arg;
  if (d->c->closed || d->i >= d->n)
    return;
  cr_assert_eq(hl_tc_raw_send(d->c, d->s + d->i, 1), 0);
  d->i++;
  cr_assert_eq(hl_set_immediate(&loop, drip, d, NULL), 0);
}

Test(http_parse, one_byte_per_read) {
  srv_start(handler, NULL);
  hl_tc_raw_t c;
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, req_text, 1), 0);
  drip_t d = {&c, req_text, 1, strlen(req_text)};
  cr_assert_eq(hl_set_immediate(&loop, drip, &d, NULL), 0);
  hl_tc_wait(&loop, &c.closed);
  cr_assert_eq(d.i, d.n);
  cr_assert_str_eq(body_of(c.in), want);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_parse, request_trailers_are_not_kept) {
  srv_start(handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "POST /up?q HTTP/1.1\r\nHost: h\r\nX-V:\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n"
                   "3\r\nabc\r\n0\r\nX-Trailer: t\r\nX-Empty-Trailer:\r\n\r\n");
  cr_assert_str_eq(body_of(c.in), "POST /up?q|/up|q\nHost=h\nX-V=\nTransfer-Encoding=chunked\n"
                                  "Connection=close\n");
  hl_tc_raw_free(&c);
  srv_stop();
}

/* Trailers count against the header byte limit with the headers. */
Test(http_parse, trailers_count_against_the_header_limit) {
  hl_http_limits_t lim;
  cr_assert_eq(hl_http_limits_default(&lim), 0);
  lim.max_header_bytes = 200;
  srv_start(handler, &lim);
  char big[400];
  int n = snprintf(big, sizeof big,
                   "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "1\r\na\r\n0\r\nX-T: %0200d\r\n\r\n",
                   0);
  cr_assert_lt((size_t)n, sizeof big);
  hl_tc_raw_t c;
  raw_exchange(&c, big);
  cr_assert(strstr(c.in, "HTTP/1.1 431 "), "%s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
}

/* A head of several KiB: eight 1000-byte header values. */
static void big_head(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  char v[1001], name[16];
  for (int i = 0; i < 8; i++) {
    memset(v, 'a' + i, 1000);
    v[1000] = 0;
    snprintf(name, sizeof name, "X-Big-%d", i);
    cr_assert_eq(hl_http_res_set_header(res, name, v), 0);
  }
  cr_assert_eq(hl_http_res_end(res, "done", 4), 0);
}

Test(http_parse, large_response_head) {
  srv_start(big_head, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  for (int i = 0; i < 8; i++) {
    char line[1100];
    int n = snprintf(line, sizeof line, "X-Big-%d: ", i);
    memset(line + n, 'a' + i, 1000);
    strcpy(line + n + 1000, "\r\n");
    cr_assert(strstr(c.in, line), "header %d missing or damaged", i);
  }
  cr_assert(strstr(c.in, "Content-Length: 4\r\n"), "%s", c.in);
  cr_assert_str_eq(body_of(c.in), "done");
  hl_tc_raw_free(&c);
  srv_stop();
}

/* The cached head (200, nothing set) and the general serializer write the
 * same bytes: "/general" sets and removes a header, which sends its head the
 * general way. The Date value is an IMF-fixdate of the current second. */
static void quick_or_general(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  if (!strcmp(hl_http_req_path(req), "/general")) {
    cr_assert_eq(hl_http_res_set_header(res, "X-Gone", "1"), 0);
    cr_assert_eq(hl_http_res_remove_header(res, "X-Gone"), 0);
  }
  /* the epoch conversion of a timestamp lands on the real clock's now */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double now_ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
  double at_ms = hl_http_time_epoch_ms(hl_http_req_times(req)->headers);
  cr_assert(at_ms <= now_ms + 1 && now_ms - at_ms < 2000, "headers at %.3f, now %.3f", at_ms,
            now_ms);
  cr_assert_eq(hl_http_res_end(res, "same", 4), 0);
}

/* The head with its Date value blanked; checks the value on the way. */
static void head_without_date(const char *in, char *out, size_t n) {
  const char *d = strstr(in, "\r\nDate: ");
  cr_assert(d, "no Date: %s", in);
  d += 8;
  struct tm tm = {0};
  const char *end = strptime(d, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  cr_assert(end && !strncmp(end, "\r\n", 2), "bad Date: %.40s", d);
  time_t when = timegm(&tm), now = time(NULL);
  cr_assert(when <= now && now - when <= 5, "Date %lld is not now (%lld)", (long long)when,
            (long long)now);
  const char *b = strstr(in, "\r\n\r\n");
  cr_assert(b);
  snprintf(out, n, "%.*s%.*s", (int)(d - in), in, (int)(b + 4 - end), end);
}

Test(http_parse, cached_head_matches_the_general_one) {
  srv_start(quick_or_general, NULL);
  hl_tc_raw_t a, b;
  raw_exchange(&a, "GET /quick HTTP/1.1\r\nHost: h\r\n\r\nGET /quick HTTP/1.1\r\nHost: h\r\n"
                   "Connection: close\r\n\r\n");
  raw_exchange(&b, "GET /general HTTP/1.1\r\nHost: h\r\n\r\nGET /general HTTP/1.1\r\nHost: h\r\n"
                   "Connection: close\r\n\r\n");
  char ha[512], hb[512];
  head_without_date(a.in, ha, sizeof ha);
  head_without_date(b.in, hb, sizeof hb);
  cr_assert_str_eq(ha, "HTTP/1.1 200 OK\r\nDate: \r\nContent-Length: 4\r\n\r\n");
  cr_assert_str_eq(hb, ha);
  /* the keep-alive response first, then the closing one; both bodies */
  cr_assert_eq(hl_tc_count(a.in, "\r\n\r\nsame"), 2);
  cr_assert_eq(hl_tc_count(b.in, "\r\n\r\nsame"), 2);
  cr_assert_eq(hl_tc_count(a.in, "Connection: close\r\n"), 1);
  cr_assert_eq(hl_tc_count(b.in, "Connection: close\r\n"), 1);
  hl_tc_raw_free(&a);
  hl_tc_raw_free(&b);
  srv_stop();
}

/* The '?' that splits path and query, found 8 bytes at a time for a short
 * url: urls of every length from 1 to 40 bytes (beyond the word-wise
 * search's 32 too), each with its '?' at every position and with none,
 * pipelined on one connection per length. */
Test(http_parse, question_mark_at_every_position) {
  srv_start(handler, NULL);
  for (size_t len = 1; len <= 40; len++) {
    char *reqs = malloc(len * 128), *want_all = malloc(len * 256);
    cr_assert(reqs && want_all);
    size_t rl = 0, wl = 0;
    for (size_t q = 0; q < len; q++) { /* q == 0: no '?' (the url's first byte is '/') */
      char url[48];
      url[0] = '/';
      for (size_t i = 1; i < len; i++)
        url[i] = (char)('a' + i % 26);
      if (q)
        url[q] = '?';
      url[len] = 0;
      int last = q == len - 1;
      rl += (size_t)sprintf(reqs + rl, "GET %s HTTP/1.1\r\n%s\r\n", url,
                            last ? "Connection: close\r\n" : "");
      char path[48];
      memcpy(path, url, q ? q : len);
      path[q ? q : len] = 0;
      wl += (size_t)sprintf(want_all + wl, "GET %s|%s|%s\n%s", url, path, q ? url + q + 1 : "",
                            last ? "Connection=close\n" : "");
    }
    hl_tc_raw_t c;
    raw_exchange(&c, reqs);
    /* the bodies, in order */
    size_t got = 0;
    char *bodies = malloc(strlen(c.in) + 1);
    cr_assert_not_null(bodies);
    for (const char *h = c.in; (h = strstr(h, "Content-Length: ")) != NULL;) {
      size_t n = strtoul(h + 16, NULL, 10);
      const char *b = strstr(h, "\r\n\r\n") + 4;
      memcpy(bodies + got, b, n);
      got += n;
      h = b + n;
    }
    bodies[got] = 0;
    cr_assert_str_eq(bodies, want_all, "url length %zu", len);
    free(bodies);
    free(reqs);
    free(want_all);
    hl_tc_raw_free(&c);
  }
  srv_stop();
}

/* Expect: 100-continue is recognised by its 6-byte name wherever it is
 * (first, after other 6-byte names, empty or not, last), in any case, and
 * only in HTTP/1.1; other 6-byte names and other values are not it. */
static void expect_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  char out[16];
  int n = snprintf(out, sizeof out, "expect=%d", hl_http_req_expects_continue(req));
  cr_assert_eq(hl_http_res_end(res, out, (size_t)n), 0);
}

Test(http_parse, expect_found_by_its_name) {
  static const struct {
    const char *hdrs;
    int minor, want;
  } cases[] = {
      {"Expect: 100-continue\r\n", 1, 1},
      {"Host: h\r\nexpect: 100-Continue\r\n", 1, 1},
      {"Accept:\r\nAccept: x\r\nEXPECT: 100-continue\r\nX-After: 1\r\n", 1, 1},
      {"Accept: 100-continue\r\n", 1, 0},
      {"Expect:\r\n", 1, 0},
      {"Expect: 100-continue-not\r\n", 1, 0},
      {"Expect: 100-continue\r\n", 0, 0},
      {"Expects: 100-continue\r\n", 1, 0},
  };
  srv_start(expect_handler, NULL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char req[256];
    snprintf(req, sizeof req, "GET / HTTP/1.%d\r\n%sConnection: close\r\n\r\n", cases[i].minor,
             cases[i].hdrs);
    hl_tc_raw_t c;
    raw_exchange(&c, req);
    char want_body[16];
    snprintf(want_body, sizeof want_body, "expect=%d", cases[i].want);
    cr_assert_str_eq(body_of(c.in), want_body, "case %zu", i);
    hl_tc_raw_free(&c);
  }
  srv_stop();
}

/* Header strings set by the application and a small body are copied by
 * fixed-size moves chosen by length (put_small: 0-3, 4-7, 8-15, 16-32, 33-64
 * bytes, then memcpy): every length from 0 to 70 arrives intact, as a header
 * name, as a header value and as the body. */
static char pat(size_t i, size_t k) {
  return (char)('a' + (i * 7 + k) % 26);
}
static void sized(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  size_t blen = (size_t)atoi(hl_http_req_path(req) + 1);
  for (size_t k = 0; k <= 70; k++) {
    char name[80], value[80];
    name[0] = 'H';
    memset(name + 1, 'n', k);
    name[k + 1] = 0;
    for (size_t i = 0; i < k; i++)
      value[i] = pat(i, k);
    value[k] = 0;
    cr_assert_eq(hl_http_res_set_header(res, name, value), 0);
    cr_assert_str_eq(hl_http_res_get_header(res, name), value);
  }
  char body[80];
  for (size_t i = 0; i < blen; i++)
    body[i] = pat(i, blen);
  cr_assert_eq(hl_http_res_end(res, body, blen), 0);
}
Test(http_parse, header_strings_and_bodies_of_every_small_length) {
  srv_start(sized, NULL);
  for (size_t blen = 0; blen <= 70; blen++) {
    char req[80], want[80];
    snprintf(req, sizeof req, "GET /%zu HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", blen);
    hl_tc_raw_t c;
    raw_exchange(&c, req);
    for (size_t k = 0; k <= 70; k++) {
      char line[200];
      int n = snprintf(line, sizeof line, "\r\nH");
      memset(line + n, 'n', k);
      n += (int)k;
      n += snprintf(line + n, sizeof line - (size_t)n, ": ");
      for (size_t i = 0; i < k; i++)
        line[n++] = pat(i, k);
      strcpy(line + n, "\r\n");
      cr_assert(strstr(c.in, line), "header %zu missing or damaged (body %zu)", k, blen);
    }
    for (size_t i = 0; i < blen; i++)
      want[i] = pat(i, blen);
    want[blen] = 0;
    cr_assert_str_eq(body_of(c.in), want);
    hl_tc_raw_free(&c);
  }
  srv_stop();
}
