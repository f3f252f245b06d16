/* test/app/test_router.c - the radix-tree router (include/hookloop/app.h):
 * static, parametric, optional and wildcard routes, their priority with
 * fallback, 404 / 405 with the allowed methods, HEAD using GET, conflicts and
 * bad patterns, and many routes sharing prefixes (node splitting). */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <string.h>
#include "app/app_internal.h"
#include "app_fixture.h"

static hl_value_t h(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  return hl_text(arg);
}

TestSuite(router, .init = app_open, .fini = app_close);

static hl_route_t *add(unsigned m, const char *p, const char *tag) {
  hl_route_t *r = NULL;
  cr_assert_eq(hl_app_route(app, m, p, tag, h, (void *)tag, &r), 0, "adding %s", p);
  return r;
}

static hl_route_match_t M;
static int look(const char *method, const char *path) {
  cr_assert_eq(hl_app_match(app, method, path, strlen(path), &M), 0);
  return M.status;
}
static const char *param(const char *name) {
  static char buf[256];
  for (size_t i = 0; i < M.n_params; i++)
    if (strcmp(M.params[i].name, name) == 0) {
      snprintf(buf, sizeof buf, "%.*s", (int)M.params[i].len, M.params[i].value);
      return buf;
    }
  return NULL;
}

Test(router, static_param_wildcard_priority) {
  hl_route_t *me = add(HL_GET, "/users/me", "me");
  hl_route_t *id = add(HL_GET, "/users/:id", "id");
  hl_route_t *posts = add(HL_GET, "/users/:id/posts/:post", "posts");
  hl_route_t *files = add(HL_GET, "/files/*", "files");
  hl_route_t *any = add(HL_GET, "/*", "any");
  cr_assert_eq(look("GET", "/users/me"), 200);
  cr_assert_eq(M.route, me);
  cr_assert_eq(M.n_params, 0);
  cr_assert_eq(look("GET", "/users/42"), 200);
  cr_assert_eq(M.route, id);
  cr_assert_str_eq(param("id"), "42");
  cr_assert_eq(look("GET", "/users/me/posts/7"), 200); /* fallback from the static branch */
  cr_assert_eq(M.route, posts);
  cr_assert_str_eq(param("id"), "me");
  cr_assert_str_eq(param("post"), "7");
  cr_assert_eq(look("GET", "/files/a/b/c.txt"), 200);
  cr_assert_eq(M.route, files);
  cr_assert_str_eq(param("*"), "a/b/c.txt");
  cr_assert_eq(look("GET", "/files/"), 200);
  cr_assert_eq(M.route, files);
  cr_assert_str_eq(param("*"), "");
  cr_assert_eq(look("GET", "/users/42/other"), 200); /* only the root wildcard takes it */
  cr_assert_eq(M.route, any);
  cr_assert_str_eq(param("*"), "users/42/other");
}

Test(router, not_found_and_method_not_allowed) {
  add(HL_GET | HL_POST, "/items/:id", "a");
  add(HL_DELETE, "/items/:id", "b");
  cr_assert_eq(look("GET", "/nope"), 404);
  cr_assert_null(M.route);
  cr_assert_eq(look("GET", "/items/"), 404); /* an empty parameter does not match */
  cr_assert_eq(look("PUT", "/items/1"), 405);
  cr_assert_eq(M.allow, HL_GET | HL_POST | HL_DELETE | HL_HEAD);
  cr_assert_eq(look("HEAD", "/items/1"), 200); /* HEAD uses GET */
  cr_assert_eq(look("DELETE", "/items/1"), 200);
}

Test(router, method_decides_between_static_and_param) {
  hl_route_t *st = add(HL_GET, "/users/me", "st");
  hl_route_t *pp = add(HL_POST, "/users/:id", "pp");
  cr_assert_eq(look("POST", "/users/me"), 200);
  cr_assert_eq(M.route, pp);
  cr_assert_eq(look("GET", "/users/me"), 200);
  cr_assert_eq(M.route, st);
  cr_assert_eq(look("PUT", "/users/me"), 405);
  cr_assert_eq(M.allow, HL_GET | HL_HEAD);
}

Test(router, any_method_and_other_methods) {
  hl_route_t *a = add(HL_ANY_METHOD, "/any", "a");
  cr_assert_eq(look("PROPFIND", "/any"), 200);
  cr_assert_eq(M.route, a);
  cr_assert_eq(look("OPTIONS", "/any"), 200);
  cr_assert_eq(look("PATCH", "/any"), 200);
  cr_assert_eq(hl_method_bit("PATCH"), HL_PATCH);
  cr_assert_eq(hl_method_bit("BREW"), HL_OTHER);
}

Test(router, optional_segments) {
  hl_route_t *r = add(HL_GET, "/a/:b?", "opt");
  cr_assert_eq(look("GET", "/a"), 200);
  cr_assert_eq(M.route, r);
  cr_assert_null(param("b"));
  cr_assert_eq(look("GET", "/a/x"), 200);
  cr_assert_eq(M.route, r);
  cr_assert_str_eq(param("b"), "x");
  hl_route_t *m = add(HL_GET, "/p/:x?/q", "mid");
  cr_assert_eq(look("GET", "/p/q"), 200);
  cr_assert_eq(M.route, m);
  cr_assert_eq(look("GET", "/p/1/q"), 200);
  cr_assert_str_eq(param("x"), "1");
  cr_assert_eq(look("GET", "/a/x/y"), 404);
}

Test(router, different_param_names_at_one_position) {
  add(HL_GET, "/u/:id", "g");
  add(HL_POST, "/u/:name", "p");
  look("GET", "/u/1");
  cr_assert_str_eq(param("id"), "1");
  look("POST", "/u/bob");
  cr_assert_str_eq(param("name"), "bob");
  cr_assert_null(param("id"));
}

Test(router, conflicts_and_bad_patterns) {
  add(HL_GET, "/x", "x");
  cr_assert_eq(hl_app_route(app, HL_GET, "/x", NULL, h, NULL, NULL), HL_EBUSY);
  cr_assert_eq(hl_app_route(app, HL_POST, "/x", NULL, h, NULL, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "x", NULL, h, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_route(app, HL_GET, "/a/:/b", NULL, h, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_route(app, HL_GET, "/a/*/b", NULL, h, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_route(app, HL_GET, "/a/b?", NULL, h, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_route(app, 0, "/y", NULL, h, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_route(app, HL_GET, "/y", NULL, NULL, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_route(NULL, HL_GET, "/y", NULL, h, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_match(app, NULL, "/", 1, &M), HL_EINVAL);
  cr_assert_eq(hl_app_match(NULL, "GET", "/", 1, &M), HL_EINVAL);
  cr_assert_eq(hl_app_free(NULL), HL_EINVAL);
}

Test(router, thousand_routes_with_shared_prefixes) {
  char p[64], tag[1000][16];
  hl_route_t *r[1000];
  for (int i = 0; i < 1000; i++) {
    snprintf(p, sizeof p, "/api/v%d/res%d/:id", i % 7, i);
    snprintf(tag[i], sizeof tag[i], "%d", i);
    r[i] = add(HL_GET, p, tag[i]);
  }
  for (int i = 0; i < 1000; i++) {
    snprintf(p, sizeof p, "/api/v%d/res%d/x%d", i % 7, i, i);
    cr_assert_eq(look("GET", p), 200);
    cr_assert_eq(M.route, r[i], "route %d", i);
    snprintf(tag[0], 16, "x%d", i);
    cr_assert_str_eq(param("id"), tag[0]);
  }
  cr_assert_eq(look("GET", "/api/v1/res9999/1"), 404);
}

/* Fully static paths are also found through a hash table before the walk:
 * many of them (the table grows and rehashes), one path with a route per
 * method, prefixes of static paths that are no route, a static path whose
 * method only a parameter route has, and the static path an optional
 * segment expands to. */
Test(router, many_static_routes) {
  char p[64], tag[300][16];
  hl_route_t *get[300], *post[300];
  for (int i = 0; i < 300; i++) {
    snprintf(p, sizeof p, "/s/%d", i * 10);
    snprintf(tag[i], sizeof tag[i], "%d", i);
    get[i] = add(HL_GET, p, tag[i]);
    post[i] = i % 3 == 0 ? add(HL_POST, p, tag[i]) : NULL;
  }
  hl_route_t *put = add(HL_PUT, "/s/:n", "put");
  hl_route_t *opt = add(HL_GET, "/opt/:a?", "opt");
  for (int i = 0; i < 300; i++) {
    snprintf(p, sizeof p, "/s/%d", i * 10);
    cr_assert_eq(look("GET", p), 200, "%s", p);
    cr_assert_eq(M.route, get[i], "%s", p);
    cr_assert_eq(M.n_params, 0);
    cr_assert_eq(look("HEAD", p), 200, "%s", p);
    cr_assert_eq(M.route, get[i]);
    if (post[i]) {
      cr_assert_eq(look("POST", p), 200, "%s", p);
      cr_assert_eq(M.route, post[i]);
    }
    cr_assert_eq(look("PUT", p), 200, "%s", p); /* the parameter route's method */
    cr_assert_eq(M.route, put);
    cr_assert_eq(look("DELETE", p), 405, "%s", p);
  }
  cr_assert_eq(look("GET", "/s/1"), 405); /* a prefix of "/s/10": the parameter node (PUT) */
  cr_assert_eq(look("GET", "/s"), 404);
  cr_assert_eq(look("GET", "/opt"), 200);
  cr_assert_eq(M.route, opt);
  cr_assert_eq(M.n_params, 0);
  cr_assert_eq(look("GET", "/opt/v"), 200);
  cr_assert_str_eq(param("a"), "v");
}

/* The request's lookup (hl__router_match_req): the static path the table
 * last answered is compared inline before the hash; it answers exactly what
 * the public lookup does, for that path (any method), for its prefixes and
 * extensions, for other paths (which take the table's place), and after the
 * routes changed (the remembered entry forgotten, the table rehashed). */
static void same_as_public(const char *method, const char *path) {
  hl_route_match_t m;
  m.route = NULL;
  m.n_params = 0; /* as the request's reset leaves it */
  hl__router_match_req(app, hl_method_bit(method), path, &m);
  cr_assert_eq(look(method, path), M.status);
  cr_assert_eq(m.route, M.route, "%s %s", method, path);
  if (M.route)
    cr_assert_eq(m.n_params, M.n_params, "%s %s", method, path);
  else
    cr_assert_eq(m.status, M.status, "%s %s", method, path);
}

Test(router, remembered_static_path) {
  hl_route_t *root = add(HL_GET, "/", "root");
  add(HL_GET, "/a", "a");
  add(HL_POST, "/a", "a-post");
  add(HL_GET, "/ab/:x", "ab");
  cr_assert_null(app->statics.last);
  same_as_public("GET", "/");
  cr_assert_eq(app->statics.last->node->slot[0].route, root); /* remembered */
  const hl__static_t *last = app->statics.last;
  same_as_public("GET", "/");
  same_as_public("HEAD", "/");
  same_as_public("POST", "/"); /* 405: the remembered path without the method */
  same_as_public("GET", "");
  same_as_public("GET", "//");
  same_as_public("GET", "/a");
  cr_assert_neq(app->statics.last, last); /* "/a" now */
  same_as_public("POST", "/a");
  same_as_public("GET", "/");
  same_as_public("GET", "/ab"); /* an extension of "/a" that no route has */
  same_as_public("GET", "/ab/1");
  same_as_public("GET", "/b");
  same_as_public("DELETE", "/a");
  /* a route added: the entries may move, the remembered one is forgotten */
  same_as_public("GET", "/a");
  cr_assert_not_null(app->statics.last);
  char p[32], tag[64][8];
  for (int i = 0; i < 64; i++) { /* enough for the table to grow */
    snprintf(p, sizeof p, "/n%d", i);
    snprintf(tag[i], sizeof tag[i], "%d", i);
    add(HL_GET, p, tag[i]);
    cr_assert_null(app->statics.last);
    same_as_public("GET", p);
    same_as_public("GET", "/a");
    cr_assert_not_null(app->statics.last);
  }
  for (int i = 0; i < 64; i++) {
    snprintf(p, sizeof p, "/n%d", i);
    same_as_public("GET", p);
    same_as_public("PUT", p);
  }
}
