/* test/app/test_robust.c - outside input never breaks the app layer: mutated
 * multipart, url-encoded and JSON bodies, query strings and paths (a fixed
 * seed, so a failure reproduces) each end in a 200 or a 400 / 404 / 405
 * answer, with every request released; run under ASan in CI. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdlib.h>
#include <string.h>
#include "fake_app.h"

static hl_value_t echo(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const hl_form_field_t *a = hl_ctx_form(ctx, "a");
  const char *q = hl_ctx_query(ctx, "q");
  const char *id = hl_ctx_param(ctx, "id");
  return hl_text(
      hl_ctx_printf(ctx, "%zu %zu %zu", a ? a->len : 0, q ? strlen(q) : 0, id ? strlen(id) : 0));
}

static const char *seeds[][2] = {
    {"multipart/form-data; boundary=B",
     "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nxyz\r\n--B\r\n"
     "Content-Disposition: form-data; name=\"f\"; filename=\"x\"\r\nContent-Type: a/b\r\n\r\n"
     "data\r\n--B--\r\n"},
    {"application/x-www-form-urlencoded", "a=1%20&b=%zz&&=x&c"},
    {"application/json", "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\"}"},
    {"multipart/form-data; boundary=\"q\"", "--q\r\nContent-Disposition: form-data; name=a\r\n\r\n"
                                            "v\r\n--q--"},
};

Test(robust, mutated_bodies_paths_and_queries) {
  hl_loop_t loop;
  hl_app_t *app;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_app_new(&loop, &app), 0);
  cr_assert_eq(hl_app_route(app, HL_POST | HL_GET, "/u/:id", "h", echo, NULL, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/u/:id/f/*", "h", echo, NULL, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/u/me", "h", echo, NULL, NULL), 0);
  srand(12345);
  static const char alphabet[] = "-\r\n\"=;:%&+/ aB0*?";
  for (int it = 0; it < 4000; it++) {
    const char **sd = seeds[it % 4];
    char body[512], path[64], query[64];
    size_t n = strlen(sd[1]);
    memcpy(body, sd[1], n);
    int muts = rand() % 6;
    for (int k = 0; k < muts && n > 0; k++) {
      size_t at = (size_t)rand() % n;
      switch (rand() % 3) {
      case 0: /* replace */
        body[at] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        break;
      case 1: /* cut */
        n = at;
        break;
      default: /* duplicate a slice */
        if (n + 8 < sizeof body) {
          memmove(body + at + 8, body + at, n - at);
          n += 8;
        }
        break;
      }
    }
    size_t pl = 0;
    path[pl++] = '/';
    int plen = rand() % 20;
    for (int k = 0; k < plen; k++)
      path[pl++] = (k < 2 && rand() % 2) ? "u/"[k] : alphabet[rand() % (int)(sizeof alphabet - 1)];
    path[pl] = '\0';
    if (it % 3 == 0)
      strcpy(path, "/u/x%41%");
    int ql = rand() % 30;
    for (int k = 0; k < ql; k++)
      query[k] = alphabet[rand() % (int)(sizeof alphabet - 1)];
    query[ql] = '\0';
    hl_fake_req_t f = {.method = it % 5 ? "POST" : "GET",
                       .path = it % 2 ? path : "/u/1",
                       .query = ql ? query : NULL,
                       .body = body,
                       .body_len = n,
                       .hdrs = {{"Content-Type", sd[0]}},
                       .nh = 1};
    cr_assert_eq(hl_fake_dispatch(app, &f), 0);
    hl_run(&loop, HL_RUN_DEFAULT);
    cr_assert(f.status == 200 || f.status == 400 || f.status == 404 || f.status == 405, "status %d",
              f.status);
    cr_assert_eq(f.released, 1);
    hl_fake_free(&f);
  }
  cr_assert_eq(hl_app_free(app), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}
