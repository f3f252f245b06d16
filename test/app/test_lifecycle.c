/* test/app/test_lifecycle.c - the request lifecycle through the fake
 * transport: stage order (app-level before route-level), what a value does in
 * each stage, body parsers, response mapping of every value kind, async
 * functions (promises resolved from timers), errors raised in each stage and
 * the defaults, afterResponse also when the client went away, the request's
 * async context, and the app's invariants (store, arena, ids). */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "app_fixture.h"
#include "fake_app.h"

static char order[512];

static void setup(void) {
  order[0] = '\0';
  app_open();
}
TestSuite(life, .init = setup, .fini = app_close);

/* a function that logs its name; arg: "name" or "name=value" kinds below */
static hl_value_t logf_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  strcat(order, arg);
  strcat(order, " ");
  return hl_none();
}
static hl_value_t text_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  strcat(order, "H ");
  return hl_text(arg);
}
static hl_value_t early_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  strcat(order, "E ");
  return hl_text(arg);
}
static hl_value_t fail_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  strcat(order, "F ");
  return hl_fail((int)(intptr_t)arg, "boom");
}

static void go(hl_fake_req_t *f) {
  cr_assert_eq(hl_fake_dispatch(app, f), 0);
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(life, stage_order_app_before_route) {
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_POST, "/x", "h", text_, "ok", &r), 0);
  static const char *names[] = {"req", "parse", "tr", "bh", NULL, "ah", "map", "err", "ar"};
  static const char *rnames[] = {NULL, "rparse", "rtr", "rbh", NULL, "rah", "rmap", "rerr", "rar"};
  for (int s = 0; s < HL_STAGE_COUNT; s++) {
    if (names[s])
      cr_assert_eq(hl_app_on(app, s, names[s], logf_, (void *)names[s]), 0);
    if (rnames[s])
      cr_assert_eq(hl_route_on(r, s, rnames[s], logf_, (void *)rnames[s]), 0);
  }
  cr_assert_eq(hl_route_on(r, HL_STAGE_REQUEST, "x", logf_, NULL), HL_EINVAL);
  cr_assert_eq(hl_route_on(r, HL_STAGE_HANDLE, "x", logf_, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_on(app, HL_STAGE_HANDLE, "x", logf_, NULL), HL_EINVAL);
  hl_fake_req_t f = {.method = "POST",
                     .path = "/x",
                     .body = "hi",
                     .body_len = 2,
                     .hdrs = {{"Content-Type", "application/octet-stream"}},
                     .nh = 1};
  go(&f);
  cr_assert_str_eq(order, "req parse rparse tr rtr bh rbh H ah rah map rmap ar rar ");
  cr_assert_eq(f.status, 200);
  cr_assert_str_eq(f.body_out, "ok");
  cr_assert_str_eq(hl_fake_header(&f, "content-type"), "text/plain; charset=utf-8");
  cr_assert_eq(f.released, 1);
  hl_fake_free(&f);
}

Test(life, parse_skipped_without_body_and_before_handle_skips_handler) {
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/x", "h", text_, "handler", &r), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_PARSE, "p", logf_, "p"), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "one", logf_, "one"), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "early", early_, "early"), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "never", logf_, "never"), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_AFTER_HANDLE, "ah", logf_, "ah"), 0);
  hl_fake_req_t f = {.path = "/x"};
  go(&f);
  cr_assert_str_eq(order, "one E ah ");
  cr_assert_str_eq(f.body_out, "early");
  hl_fake_free(&f);
}

static hl_value_t replace_(hl_ctx_t *ctx, void *arg) {
  const hl_value_t *v = hl_ctx_response(ctx);
  cr_assert_eq(v->kind, HL_VALUE_TEXT);
  return hl_text(hl_ctx_printf(ctx, "%s+%s", (const char *)v->data, (const char *)arg));
}
static hl_value_t mapper_(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const hl_value_t *v = hl_ctx_response(ctx);
  hl_response_t *res = hl_ctx_alloc(ctx, sizeof *res);
  static hl_header_t hh[] = {{"X-Mapped", "yes"}};
  *res = (hl_response_t){201, "text/x-mapped", v->data, v->len, hh, 1};
  return hl_reply(res);
}

Test(life, after_handle_replaces_and_map_response_custom_first) {
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/x", "h", text_, "v", &r), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_AFTER_HANDLE, "rep", replace_, "a"), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_AFTER_HANDLE, "rep2", replace_, "b"), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_MAP_RESPONSE, "map", mapper_, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_MAP_RESPONSE, "skipped", logf_, "skipped"), 0);
  hl_fake_req_t f = {.path = "/x"};
  go(&f);
  cr_assert_str_eq(order, "H ");         /* the first mapper's value ends mapResponse */
  cr_assert_str_eq(f.body_out, "v+a+b"); /* each replaces; the stage goes on */
  cr_assert_eq(f.status, 201);
  cr_assert_str_eq(hl_fake_header(&f, "x-mapped"), "yes");
  cr_assert_str_eq(hl_fake_header(&f, "content-type"), "text/x-mapped");
  hl_fake_free(&f);
}

Test(life, request_stage_value_answers_before_routing) {
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "gate", early_, "blocked"), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_MAP_RESPONSE, "map", logf_, "map"), 0);
  hl_fake_req_t f = {.path = "/no-such-route"};
  go(&f);
  cr_assert_str_eq(order, "E map ");
  cr_assert_eq(f.status, 200);
  cr_assert_str_eq(f.body_out, "blocked");
  hl_fake_free(&f);
}

static hl_value_t echo_ctx(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *q = hl_ctx_query(ctx, "q");
  const char *e = hl_ctx_query(ctx, "empty");
  return hl_text(hl_ctx_printf(ctx, "id=%s q=%s e=[%s] miss=%s h=%s store=%s m=%s p=%s",
                               hl_ctx_param(ctx, "id"), q, e,
                               hl_ctx_query(ctx, "zz") ? "yes" : "no", hl_ctx_header(ctx, "x-a"),
                               (char *)hl_ctx_store(ctx), hl_ctx_method(ctx), hl_ctx_path(ctx)));
}

Test(life, context_params_query_headers_store) {
  hl_app_set_store(app, "S");
  cr_assert_eq(hl_app_route(app, HL_GET, "/u/:id", "h", echo_ctx, NULL, NULL), 0);
  hl_fake_req_t f = {
      .path = "/u/a%20b", .query = "q=x+y%21&empty&q=second", .hdrs = {{"X-A", "1"}}, .nh = 1};
  go(&f);
  cr_assert_str_eq(f.body_out, "id=a b q=x y! e=[] miss=no h=1 store=S m=GET p=/u/a%20b");
  hl_fake_free(&f);
}

static hl_value_t set_(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  cr_assert_eq(hl_ctx_set_status(ctx, 418), 0);
  cr_assert_eq(hl_ctx_set_header(ctx, "X-One", "1"), 0);
  cr_assert_eq(hl_ctx_set_header(ctx, "x-one", "2"), 0); /* replaces */
  cr_assert_eq(hl_ctx_set_header(ctx, "X-Bad", "a\r\nb"), HL_EINVAL);
  cr_assert_eq(hl_ctx_set_header(ctx, "Bad Name", "a"), HL_EINVAL);
  cr_assert_eq(hl_ctx_set_status(ctx, 42), HL_EINVAL);
  cr_assert_str_eq(hl_ctx_get_header(ctx, "X-ONE"), "2");
  return hl_none();
}

Test(life, set_status_and_headers) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "h", set_, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_eq(f.status, 418);
  cr_assert_str_eq(hl_fake_header(&f, "x-one"), "2");
  cr_assert_null(hl_fake_header(&f, "x-bad"));
  cr_assert_str_eq(f.body_out, "");
  hl_fake_free(&f);
}

/* ---- body parsers ---- */
static hl_value_t body_(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const hl_value_t *b = hl_ctx_body(ctx);
  switch (b->kind) {
  case HL_VALUE_JSON: {
    json_t *j = (json_t *)b->ptr;
    return hl_text(hl_ctx_printf(ctx, "json:%s", json_string_value(json_object_get(j, "a"))));
  }
  case HL_VALUE_TEXT:
    return hl_text(hl_ctx_printf(ctx, "text:%s", (const char *)b->data));
  case HL_VALUE_FORM: {
    const hl_form_field_t *a = hl_ctx_form(ctx, "a"), *file = hl_ctx_form(ctx, "f");
    return hl_text(hl_ctx_printf(
        ctx, "form:%s|%s|%s|%s", a ? a->value : "-", file ? file->value : "-",
        file && file->filename ? file->filename : "-", file && file->ctype ? file->ctype : "-"));
  }
  case HL_VALUE_PTR:
    return hl_text(hl_ctx_printf(ctx, "custom:%s", (char *)b->ptr));
  default: {
    size_t n;
    hl_ctx_body_raw(ctx, &n);
    return hl_text(hl_ctx_printf(ctx, "none:%zu", n));
  }
  }
}

static void post(const char *ct, const char *body, char *out, size_t outn, int *status) {
  hl_fake_req_t f = {.method = "POST",
                     .path = "/b",
                     .body = body,
                     .body_len = strlen(body),
                     .hdrs = {{"Content-Type", ct}},
                     .nh = 1,
                     .body_async = 1};
  go(&f);
  snprintf(out, outn, "%s", f.body_out);
  *status = f.status;
  hl_fake_free(&f);
}

static hl_value_t custom_parser(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *ct = hl_ctx_header(ctx, "content-type");
  if (strcmp(ct, "application/x-custom") != 0)
    return hl_none();
  size_t n;
  const char *raw = hl_ctx_body_raw(ctx, &n);
  return hl_ptr(hl_ctx_printf(ctx, "%.*s!", (int)n, raw));
}

Test(life, body_parsers) {
  cr_assert_eq(hl_app_route(app, HL_POST, "/b", "h", body_, NULL, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_PARSE, "custom", custom_parser, NULL), 0);
  char out[256];
  int st;
  post("application/json; charset=utf-8", "{\"a\":\"b\"}", out, sizeof out, &st);
  cr_assert_str_eq(out, "json:b");
  post("application/json", "{bad", out, sizeof out, &st);
  cr_assert_eq(st, 400);
  cr_assert(strstr(out, "invalid JSON") != NULL, "%s", out);
  post("text/plain", "hello", out, sizeof out, &st);
  cr_assert_str_eq(out, "text:hello");
  post("application/x-www-form-urlencoded", "a=1+2%21&b=c", out, sizeof out, &st);
  cr_assert_str_eq(out, "form:1 2!|-|-|-");
  post("multipart/form-data; boundary=XyZ",
       "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue a\r\n"
       "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"t.txt\"\r\n"
       "Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n",
       out, sizeof out, &st);
  cr_assert_str_eq(out, "form:value a|line1\r\nline2|t.txt|text/plain");
  post("multipart/form-data; boundary=XyZ", "garbage", out, sizeof out, &st);
  cr_assert_eq(st, 400);
  post("application/x-custom", "raw", out, sizeof out, &st);
  cr_assert_str_eq(out, "custom:raw!");
  post("application/octet-stream", "12345", out, sizeof out, &st);
  cr_assert_str_eq(out, "none:5");
}

/* ---- value kinds ---- */
static hl_value_t json_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_json((struct json_t *)json_pack("{s:i,s:s}", "id", 7, "name", "x"));
}
static hl_value_t bytes_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_bytes("\x01\x02", 2, NULL);
}
static hl_value_t status_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_status(204);
}
static hl_value_t file_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  return hl_file(arg, NULL);
}
static void stream_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  cr_assert_eq(hl_ctx_stream_write(ctx, "ab", 2), 0);
  cr_assert_eq(hl_ctx_stream_write(ctx, "cd", 2), 0);
  cr_assert_eq(hl_ctx_stream_end(ctx), 0);
  cr_assert_eq(hl_ctx_stream_write(ctx, "x", 1), HL_ESTATE);
}
static hl_value_t stream_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_stream(stream_fn, NULL, "text/event-stream");
}
static hl_value_t ptr_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_ptr(&order);
}

Test(life, value_kinds_map_to_responses) {
  char dir[] = "/tmp/hl_app_XXXXXX", path[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/f.html", dir);
  FILE *fp = fopen(path, "w");
  fputs("<p>file</p>", fp);
  fclose(fp);
  char missing[64];
  snprintf(missing, sizeof missing, "%s/none.txt", dir);
  hl_app_route(app, HL_GET, "/json", "h", json_, NULL, NULL);
  hl_app_route(app, HL_GET, "/bytes", "h", bytes_, NULL, NULL);
  hl_app_route(app, HL_GET, "/status", "h", status_, NULL, NULL);
  hl_app_route(app, HL_GET, "/file", "h", file_, path, NULL);
  hl_app_route(app, HL_GET, "/missing", "h", file_, missing, NULL);
  hl_app_route(app, HL_GET, "/stream", "h", stream_, NULL, NULL);
  hl_app_route(app, HL_GET, "/ptr", "h", ptr_, NULL, NULL);
  hl_fake_req_t a = {.path = "/json"}, b = {.path = "/bytes"}, c = {.path = "/status"},
                d = {.path = "/file"}, e = {.path = "/missing"}, g = {.path = "/stream"},
                p = {.path = "/ptr"};
  go(&a);
  cr_assert_str_eq(a.body_out, "{\"id\":7,\"name\":\"x\"}");
  cr_assert_str_eq(hl_fake_header(&a, "content-type"), "application/json");
  go(&b);
  cr_assert_eq(b.out_len, 2);
  cr_assert_str_eq(hl_fake_header(&b, "content-type"), "application/octet-stream");
  go(&c);
  cr_assert_eq(c.status, 204);
  go(&d);
  cr_assert_eq(d.kind, 2);
  cr_assert_str_eq(d.body_out, "<p>file</p>");
  cr_assert_str_eq(hl_fake_header(&d, "content-type"), "text/html; charset=utf-8");
  go(&e);
  cr_assert_eq(e.status, 404);
  go(&g);
  cr_assert_eq(g.kind, 3);
  cr_assert(g.stream_ended);
  cr_assert_str_eq(g.body_out, "abcd");
  cr_assert_str_eq(hl_fake_header(&g, "content-type"), "text/event-stream");
  go(&p);
  cr_assert_eq(p.status, 500);
  hl_fake_req_t *all[] = {&a, &b, &c, &d, &e, &g, &p};
  for (int i = 0; i < 7; i++) {
    cr_assert_eq(all[i]->released, 1);
    hl_fake_free(all[i]);
  }
  remove(path);
  rmdir(dir);
}

/* ---- errors ---- */
static int seen_code;
static hl_value_t on_err_log(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *msg;
  seen_code = hl_ctx_error(ctx, &msg);
  strcat(order, "ERR ");
  return hl_none();
}

Test(life, default_error_responses) {
  hl_app_route(app, HL_GET, "/x", "h", text_, "x", NULL);
  hl_app_on(app, HL_STAGE_ERROR, "log", on_err_log, NULL);
  hl_fake_req_t nf = {.path = "/nope"}, ma = {.method = "DELETE", .path = "/x"};
  go(&nf);
  cr_assert_eq(nf.status, 404);
  cr_assert_eq(seen_code, HL_ENOTFOUND);
  go(&ma);
  cr_assert_eq(ma.status, 405);
  cr_assert_eq(seen_code, HL_EMETHOD);
  cr_assert_str_eq(hl_fake_header(&ma, "allow"), "GET, HEAD");
  hl_fake_free(&nf);
  hl_fake_free(&ma);
}

static hl_value_t err_answer(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *msg;
  int code = hl_ctx_error(ctx, &msg);
  return hl_text(hl_ctx_printf(ctx, "%s:%s:%d", hl_err_name(code), msg, hl_ctx_status(ctx)));
}

Test(life, an_error_in_each_stage_runs_the_error_stage) {
  static const struct {
    hl_stage_t stage;
    int code;
    int status;
  } cases[] = {
      {HL_STAGE_REQUEST, HL_EVALIDATION, 400},   {HL_STAGE_PARSE, HL_EPARSE, 400},
      {HL_STAGE_TRANSFORM, HL_EVALIDATION, 400}, {HL_STAGE_BEFORE_HANDLE, HL_EINTERNAL, 500},
      {HL_STAGE_HANDLE, HL_ENOTFOUND, 404},      {HL_STAGE_AFTER_HANDLE, HL_EINTERNAL, 500},
      {HL_STAGE_MAP_RESPONSE, -5, 500},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hl_app_t *a;
    cr_assert_eq(hl_app_new(&loop, &a), 0);
    hl_route_t *r;
    int handler_fails = cases[i].stage == HL_STAGE_HANDLE;
    cr_assert_eq(hl_app_route(a, HL_POST, "/x", "h", handler_fails ? fail_ : text_,
                              handler_fails ? (void *)(intptr_t)cases[i].code : "x", &r),
                 0);
    if (!handler_fails)
      cr_assert_eq(hl_app_on(a, cases[i].stage, "f", fail_, (void *)(intptr_t)cases[i].code), 0);
    hl_app_on(a, HL_STAGE_ERROR, "ans", err_answer, NULL);
    hl_app_on(a, HL_STAGE_AFTER_RESPONSE, "ar", logf_, "AR");
    order[0] = '\0';
    hl_fake_req_t f = {.method = "POST",
                       .path = "/x",
                       .body = "b",
                       .body_len = 1,
                       .hdrs = {{"Content-Type", "text/plain"}},
                       .nh = 1};
    cr_assert_eq(hl_fake_dispatch(a, &f), 0);
    hl_run(&loop, HL_RUN_DEFAULT);
    cr_assert_eq(f.status, cases[i].status, "stage %d", cases[i].stage);
    char want[128];
    snprintf(want, sizeof want, "%s:boom:%d", hl_err_name(cases[i].code), cases[i].status);
    cr_assert_str_eq(f.body_out, want, "stage %d", cases[i].stage);
    cr_assert(strstr(order, "AR") != NULL);
    hl_fake_free(&f);
    cr_assert_eq(hl_app_free(a), 0);
  }
}

Test(life, error_in_error_and_after_response_stages) {
  hl_app_route(app, HL_GET, "/x", "h", fail_, (void *)(intptr_t)HL_EVALIDATION, NULL);
  hl_app_on(app, HL_STAGE_ERROR, "bad", fail_, (void *)(intptr_t)HL_EPARSE);
  hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "bad2", fail_, (void *)(intptr_t)HL_EINTERNAL);
  hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "never", logf_, "never");
  hl_fake_req_t f = {.path = "/x"};
  go(&f);
  cr_assert_eq(f.status, 400); /* the error stage's own error, answered by default */
  cr_assert_str_eq(order, "F F F ");
  cr_assert_eq(f.released, 1);
  hl_fake_free(&f);
}

/* ---- async ---- */
typedef struct {
  hl_promise_t *p;
  hl_ctx_t *ctx;
  const char *text;
  int reject;
} later_t;
static void later_cb(void *arg) {
  later_t *l = arg;
  if (l->reject)
    hl_promise_reject_error(l->p, HL_EVALIDATION, "late failure");
  else
    hl_promise_resolve(l->p, l->text ? hl_ctx_value(l->ctx, hl_text(l->text)) : NULL, NULL);
}
static hl_value_t async_(hl_ctx_t *ctx, void *arg) {
  later_t *l = hl_ctx_alloc(ctx, sizeof *l);
  const char *spec = arg; /* "text", "-" (no value), "!" (reject) */
  l->ctx = ctx;
  l->text = strcmp(spec, "-") == 0 ? NULL : spec;
  l->reject = strcmp(spec, "!") == 0;
  cr_assert_eq(hl_promise_new(&loop, &l->p), 0);
  cr_assert_eq(hl_set_timeout(&loop, later_cb, l, 1, NULL), 0);
  strcat(order, "A ");
  return hl_async(l->p);
}

Test(life, async_functions_are_awaited) {
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/x", "h", async_, "async body", &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "wait", async_, "-");
  hl_route_on(r, HL_STAGE_AFTER_HANDLE, "log", logf_, "ah");
  hl_fake_req_t f = {.path = "/x", .finish_async = 1};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  cr_assert_eq(f.kind, 0); /* nothing before the promise settles */
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_str_eq(order, "A A ah ");
  cr_assert_str_eq(f.body_out, "async body");
  hl_fake_free(&f);
}

Test(life, rejected_promise_is_an_error) {
  hl_app_route(app, HL_GET, "/x", "h", async_, "!", NULL);
  hl_app_on(app, HL_STAGE_ERROR, "ans", err_answer, NULL);
  hl_fake_req_t f = {.path = "/x"};
  go(&f);
  cr_assert_eq(f.status, 400);
  cr_assert_str_eq(f.body_out, "EVALIDATION:late failure:400");
  hl_fake_free(&f);
}

Test(life, client_gone_during_async_handler) {
  hl_app_route(app, HL_GET, "/x", "h", async_, "late", NULL);
  hl_app_on(app, HL_STAGE_AFTER_HANDLE, "never", logf_, "never");
  hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "ar", logf_, "AR");
  hl_fake_req_t f = {.path = "/x"};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  hl_fake_close(&f); /* before the timer resolves the handler's promise */
  cr_assert_str_eq(order, "A AR ");
  cr_assert_eq(f.released, 1);
  cr_assert_eq(f.kind, 0);
  hl_run(&loop, HL_RUN_DEFAULT); /* the abandoned promise settles harmlessly */
  cr_assert_str_eq(order, "A AR ");
}

Test(life, after_response_waits_for_the_last_byte) {
  hl_app_route(app, HL_GET, "/x", "h", text_, "x", NULL);
  hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "ar", logf_, "AR");
  hl_fake_req_t f = {.path = "/x", .no_finish = 1};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_str_eq(order, "H ");
  cr_assert_eq(f.released, 0);
  cr_assert_eq(hl_app_free(app), HL_EBUSY);
  hl__app_io_closed(f.req, 0);
  cr_assert_str_eq(order, "H AR ");
  cr_assert_eq(f.released, 1);
  hl_fake_free(&f);
}

/* ---- async context ---- */
static hl_als_t als;
static hl_value_t als_put(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  hl_als_enter_with(&als, (void *)(uintptr_t)hl_ctx_id(ctx));
  return hl_none();
}
static hl_value_t als_check(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  cr_assert_eq((uintptr_t)hl_als_get_store(&als), hl_ctx_id(ctx));
  return hl_text("ok");
}

Test(life, lifecycle_runs_in_the_request_context) {
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/x", "h", als_check, NULL, &r);
  hl_app_on(app, HL_STAGE_REQUEST, "put", als_put, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "wait", async_, "-");
  hl_fake_req_t f[10];
  memset(f, 0, sizeof f);
  for (int i = 0; i < 10; i++) {
    f[i].path = "/x";
    f[i].finish_async = 1;
    cr_assert_eq(hl_fake_dispatch(app, &f[i]), 0);
  }
  cr_assert_null(hl_als_get_store(&als)); /* nothing leaks to top level */
  hl_run(&loop, HL_RUN_DEFAULT);
  for (int i = 0; i < 10; i++) {
    cr_assert_str_eq(f[i].body_out, "ok");
    hl_fake_free(&f[i]);
  }
}

Test(life, ids_arena_and_arguments) {
  cr_assert_eq(hl_app_new(NULL, &app), HL_EINVAL);
  cr_assert_null(hl_ctx_alloc(NULL, 1));
  cr_assert_null(hl_stage_name(HL_STAGE_COUNT));
  cr_assert_str_eq(hl_stage_name(HL_STAGE_BEFORE_HANDLE), "beforeHandle");
  cr_assert_eq(hl_app_trace(app, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_server_timing(app, 99), HL_EINVAL);
  cr_assert_eq(hl_ctx_stream_end(NULL), HL_EINVAL);
}

/* ---- each request is an HLAPPREQUEST async resource ---- */
static hl_async_id_t req_ids[4], destroyed[4], seen_exec;
static int n_req, n_destroyed;
static void on_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *res, void *a) {
  (void)trig;
  (void)res;
  (void)a;
  if (strcmp(type, "HLAPPREQUEST") == 0 && n_req < 4)
    req_ids[n_req++] = id;
}
static void on_destroy(hl_async_id_t id, void *a) {
  (void)a;
  for (int i = 0; i < n_req; i++)
    if (req_ids[i] == id && n_destroyed < 4)
      destroyed[n_destroyed++] = id;
}
static hl_value_t exec_id(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  seen_exec = hl_execution_async_id();
  return hl_text("x");
}

Test(life, each_request_is_an_async_resource) {
  hl_hook_callbacks_t cbs = {.init = on_init, .destroy = on_destroy};
  hl_hook_t *hook;
  cr_assert_eq(hl_hook_create(&loop, &cbs, NULL, &hook), 0);
  cr_assert_eq(hl_hook_enable(hook), 0);
  hl_app_route(app, HL_GET, "/x", "h", exec_id, NULL, NULL);
  hl_fake_req_t f = {.path = "/x"}, g = {.path = "/x"};
  go(&f);
  cr_assert_eq(n_req, 1);
  cr_assert_eq(seen_exec, req_ids[0]); /* the handler ran inside the request's context */
  go(&g);
  cr_assert_eq(n_req, 2);
  cr_assert_eq(seen_exec, req_ids[1]);
  cr_assert_neq(req_ids[0], req_ids[1]);
  cr_assert_eq(n_destroyed, 2); /* destroyed once each request ended */
  hl_hook_destroy(hook);
  hl_fake_free(&f);
  hl_fake_free(&g);
}

/* ---- a stream written later, and a client leaving mid-stream ---- */
typedef struct {
  hl_ctx_t *ctx;
  int write_rc, end_rc;
} later_stream_t;
static later_stream_t ls;
static hl_fake_req_t *stream_req;
static void stream_tick(void *arg) {
  (void)arg;
  if (stream_req)
    hl_fake_close(stream_req); /* the client leaves before the next chunk */
  ls.write_rc = hl_ctx_stream_write(ls.ctx, "late", 4);
  ls.end_rc = hl_ctx_stream_end(ls.ctx);
}
static void stream_later(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  ls.ctx = ctx;
  cr_assert_eq(hl_ctx_stream_write(ctx, "first", 5), 0);
  cr_assert_eq(hl_set_timeout(&loop, stream_tick, NULL, 1, NULL), 0);
}
static hl_value_t stream_later_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_stream(stream_later, NULL, NULL);
}

Test(life, stream_written_later_and_client_leaving) {
  hl_app_route(app, HL_GET, "/s", "h", stream_later_, NULL, NULL);
  hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "ar", logf_, "AR");
  /* 1: the stream ends normally from a timer; afterResponse after its end */
  hl_fake_req_t f = {.path = "/s"};
  go(&f);
  cr_assert_eq(ls.write_rc, 0);
  cr_assert_eq(ls.end_rc, 0);
  cr_assert(f.stream_ended);
  cr_assert_str_eq(f.body_out, "firstlate");
  cr_assert_str_eq(order, "AR ");
  /* 2: the client leaves before the timer: write and end say so, nothing leaks */
  order[0] = '\0';
  hl_fake_req_t g = {.path = "/s"};
  stream_req = &g;
  go(&g);
  cr_assert_eq(ls.write_rc, HL_ESTATE);
  cr_assert_eq(ls.end_rc, HL_ESTATE);
  cr_assert_eq(g.stream_ended, 0);
  cr_assert_str_eq(g.body_out, "first");
  cr_assert_str_eq(order, "AR ");
  cr_assert_eq(g.released, 1);
  stream_req = NULL;
  hl_fake_free(&f);
  hl_fake_free(&g);
}

static hl_value_t never_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  hl_promise_t *p;
  cr_assert_eq(hl_promise_new(&loop, &p), 0);
  *(hl_promise_t **)arg = p;
  return hl_async(p);
}

Test(life, app_free_waits_for_an_abandoned_promise) {
  static hl_promise_t *p;
  hl_app_route(app, HL_GET, "/x", "h", never_, &p, NULL);
  hl_fake_req_t f = {.path = "/x"};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  hl_fake_close(&f);
  cr_assert_eq(f.released, 1);
  cr_assert_eq(hl_app_free(app), HL_EBUSY); /* the promise still points at the request */
  cr_assert_eq(hl_promise_resolve(p, NULL, NULL), 0);
  hl_run(&loop, HL_RUN_DEFAULT);
  /* teardown frees the app: now it can */
}

static hl_value_t headers_(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *n, *v;
  char *out = hl_ctx_strdup(ctx, "");
  for (size_t i = 0; hl_ctx_header_at(ctx, i, &n, &v) == 0; i++)
    out = hl_ctx_printf(ctx, "%s%s=%s;", out, n, v);
  cr_assert_eq(hl_ctx_header_at(ctx, 0, NULL, &v), HL_EINVAL);
  strcat(order, "H ");
  return hl_fail(HL_EVALIDATION, out);
}

Test(life, header_iteration_and_route_level_error_after_app_level) {
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/x", "h", headers_, NULL, &r);
  hl_app_on(app, HL_STAGE_ERROR, "app", logf_, "app-err");
  hl_route_on(r, HL_STAGE_ERROR, "route", err_answer, NULL);
  hl_fake_req_t f = {.path = "/x", .hdrs = {{"A", "1"}, {"b", "2"}, {"A", "3"}}, .nh = 3};
  go(&f);
  cr_assert_str_eq(order, "H app-err ");
  cr_assert_str_eq(f.body_out, "EVALIDATION:A=1;b=2;A=3;:400");
  hl_fake_free(&f);
}

/* A request's route (found from its NUL-terminated path, hashed and measured
 * in one pass) is the one hl_app_match() finds for the same method and path:
 * static hits, HEAD answered by GET, a static path whose method has only a
 * parameter route, parameters, wildcards, 405 and 404. */
Test(life, dispatch_routes_as_match) {
  static const struct {
    unsigned m;
    const char *path, *name;
  } routes[] = {{HL_GET, "/", "root"},          {HL_GET, "/users/me", "me"},
                {HL_POST, "/users/:id", "uid"}, {HL_GET, "/users/:id/posts", "posts"},
                {HL_GET, "/files/*", "files"},  {HL_PUT, "/a/b/c/d/e/f/g/h/i", "deep"},
                {HL_DELETE, "/users/me", "del"}};
  hl_route_t *rt[sizeof routes / sizeof routes[0]];
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    cr_assert_eq(hl_app_route(app, routes[i].m, routes[i].path, routes[i].name, text_,
                              (void *)routes[i].name, &rt[i]),
                 0);
  static const struct {
    const char *method, *path;
  } reqs[] = {{"GET", "/"},
              {"HEAD", "/"},
              {"POST", "/"},
              {"GET", "/users/me"},
              {"POST", "/users/me"},
              {"DELETE", "/users/me"},
              {"PUT", "/users/me"},
              {"GET", "/users/7"},
              {"POST", "/users/7"},
              {"GET", "/users/7/posts"},
              {"GET", "/files/x/y.txt"},
              {"GET", "/files/"},
              {"PUT", "/a/b/c/d/e/f/g/h/i"},
              {"GET", "/a/b/c/d/e/f/g/h/i"},
              {"GET", "/a/b/c/d/e/f/g/h/j"},
              {"GET", "/nope"},
              {"GET", "/users/me/"}};
  for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
    hl_route_match_t m;
    cr_assert_eq(hl_app_match(app, reqs[i].method, reqs[i].path, strlen(reqs[i].path), &m), 0);
    hl_fake_req_t f = {.method = reqs[i].method, .path = reqs[i].path};
    go(&f);
    cr_assert_eq(f.status, m.route ? 200 : m.status, "%s %s", reqs[i].method, reqs[i].path);
    const char *want = NULL;
    for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++)
      if (rt[k] == m.route)
        want = routes[k].name;
    if (m.route && strcmp(reqs[i].method, "HEAD") != 0)
      cr_assert_str_eq(f.body_out, want, "%s %s", reqs[i].method, reqs[i].path);
    hl_fake_free(&f);
  }
}

/* Functions registered while a request runs (lists only grow): each stage
 * runs the functions it holds when it begins, so one added to a later stage
 * (app- or route-level, by a function of any earlier stage, the handler too)
 * runs in the same request, one added to the running stage from the next
 * request on; the same whether the stage before was empty or not. */
static hl_route_t *grow_r;
static hl_value_t grow_b2(hl_ctx_t *ctx, void *arg) {
  return logf_(ctx, arg);
}
static hl_value_t grow_req(hl_ctx_t *ctx, void *arg) {
  if (hl_app_on(app, HL_STAGE_TRANSFORM, "t", logf_, "t") != 0)
    cr_assert_fail();
  return logf_(ctx, arg);
}
static hl_value_t grow_b(hl_ctx_t *ctx, void *arg) {
  /* its own stage: from the next request on */
  cr_assert_eq(hl_route_on(grow_r, HL_STAGE_BEFORE_HANDLE, "b2", grow_b2, "b2"), 0);
  return logf_(ctx, arg);
}
static hl_value_t grow_h(hl_ctx_t *ctx, void *arg) {
  cr_assert_eq(hl_route_on(grow_r, HL_STAGE_AFTER_HANDLE, "ah", logf_, "ah"), 0);
  return text_(ctx, arg);
}
static hl_value_t grow_ah(hl_ctx_t *ctx, void *arg) {
  cr_assert_eq(hl_app_on(app, HL_STAGE_MAP_RESPONSE, "m", logf_, "m"), 0);
  cr_assert_eq(hl_route_on(grow_r, HL_STAGE_AFTER_RESPONSE, "ar", logf_, "ar"), 0);
  return logf_(ctx, arg);
}

static void no_trace(hl_trace_t *t, void *arg) {
  (void)t, (void)arg;
}

static void registered_during(int traced) {
  if (traced) /* the machine (and the traced lane) instead of the lane */
    cr_assert_eq(hl_app_trace(app, no_trace, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/x", "h", grow_h, "v", &grow_r), 0);
  /* the first request: the request stage adds a transform function (an
   * empty stage before), the handler an afterHandle one (empty before) */
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "req", grow_req, "req"), 0);
  hl_fake_req_t f = {.path = "/x"};
  go(&f);
  cr_assert_str_eq(order, "req t H ah ");
  cr_assert_str_eq(f.body_out, "v");
  hl_fake_free(&f);
  /* each adds one more each time; beforeHandle's b adds b2 to its own
   * stage: from the next request on */
  order[0] = '\0';
  cr_assert_eq(hl_route_on(grow_r, HL_STAGE_BEFORE_HANDLE, "b", grow_b, "b"), 0);
  hl_fake_req_t g = {.path = "/x"};
  go(&g);
  cr_assert_str_eq(order, "req t t b H ah ah ");
  hl_fake_free(&g);
  /* afterHandle adds a mapResponse function (app-level: it runs now) and an
   * afterResponse one on /x (not this route) */
  order[0] = '\0';
  hl_route_t *r2;
  cr_assert_eq(hl_app_route(app, HL_GET, "/y", "h", text_, "w", &r2), 0);
  cr_assert_eq(hl_route_on(r2, HL_STAGE_AFTER_HANDLE, "ah2", grow_ah, "ah2"), 0);
  hl_fake_req_t h = {.path = "/y"};
  go(&h);
  cr_assert_str_eq(order, "req t t t H ah2 m ");
  cr_assert_str_eq(h.body_out, "w");
  hl_fake_free(&h);
  order[0] = '\0';
  hl_fake_req_t k = {.path = "/x"};
  go(&k);
  cr_assert_str_eq(order, "req t t t t b b2 H ah ah ah m ar ");
  hl_fake_free(&k);
}

Test(life, functions_registered_during_a_request) {
  registered_during(0);
}

Test(life, functions_registered_during_a_traced_request) {
  registered_during(1);
}
