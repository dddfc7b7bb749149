import { createHash } from 'node:crypto';

/**
 * The WordPress-like schema of a site: WordPress' tables, columns and indexes, in Postgres
 * types, without a table prefix (each site has a database of its own). Every statement is
 * `IF NOT EXISTS`, so a re-run after a crash finishes the job.
 *
 * Shared by two services: databases builds its template of spare site databases from it
 * (the warm pool), bootstrap creates it in a site database that does not hold it yet. The
 * schema marks itself with its version (a comment on `options`), so bootstrap can tell a
 * database that already holds this very schema (skip the DDL) from one that does not.
 */
const now = `(now() AT TIME ZONE 'UTC')`;

export const WORDPRESS_TABLES = [
  'posts',
  'postmeta',
  'users',
  'usermeta',
  'options',
  'terms',
  'term_taxonomy',
  'term_relationships',
  'comments',
  'commentmeta',
  'links',
] as const;

const WORDPRESS_DDL = `
CREATE TABLE IF NOT EXISTS users (
  id                  bigserial    PRIMARY KEY,
  user_login          varchar(60)  NOT NULL UNIQUE,
  user_pass           varchar(255) NOT NULL DEFAULT '',
  user_nicename       varchar(50)  NOT NULL DEFAULT '',
  user_email          varchar(100) NOT NULL DEFAULT '',
  user_url            varchar(100) NOT NULL DEFAULT '',
  user_registered     timestamp(0) NOT NULL DEFAULT ${now},
  user_activation_key varchar(255) NOT NULL DEFAULT '',
  user_status         integer      NOT NULL DEFAULT 0,
  display_name        varchar(250) NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS users_user_nicename ON users (user_nicename);
CREATE INDEX IF NOT EXISTS users_user_email ON users (user_email);

CREATE TABLE IF NOT EXISTS usermeta (
  umeta_id   bigserial    PRIMARY KEY,
  user_id    bigint       NOT NULL DEFAULT 0,
  meta_key   varchar(255),
  meta_value text
);
CREATE INDEX IF NOT EXISTS usermeta_user_id ON usermeta (user_id);
CREATE INDEX IF NOT EXISTS usermeta_meta_key ON usermeta (meta_key);

CREATE TABLE IF NOT EXISTS posts (
  id                    bigserial    PRIMARY KEY,
  post_author           bigint       NOT NULL DEFAULT 0,
  post_date             timestamp(0) NOT NULL DEFAULT ${now},
  post_date_gmt         timestamp(0) NOT NULL DEFAULT ${now},
  post_content          text         NOT NULL DEFAULT '',
  post_title            text         NOT NULL DEFAULT '',
  post_excerpt          text         NOT NULL DEFAULT '',
  post_status           varchar(20)  NOT NULL DEFAULT 'publish',
  comment_status        varchar(20)  NOT NULL DEFAULT 'open',
  ping_status           varchar(20)  NOT NULL DEFAULT 'open',
  post_password         varchar(255) NOT NULL DEFAULT '',
  post_name             varchar(200) NOT NULL DEFAULT '',
  to_ping               text         NOT NULL DEFAULT '',
  pinged                text         NOT NULL DEFAULT '',
  post_modified         timestamp(0) NOT NULL DEFAULT ${now},
  post_modified_gmt     timestamp(0) NOT NULL DEFAULT ${now},
  post_content_filtered text         NOT NULL DEFAULT '',
  post_parent           bigint       NOT NULL DEFAULT 0,
  guid                  varchar(255) NOT NULL DEFAULT '',
  menu_order            integer      NOT NULL DEFAULT 0,
  post_type             varchar(20)  NOT NULL DEFAULT 'post',
  post_mime_type        varchar(100) NOT NULL DEFAULT '',
  comment_count         bigint       NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS posts_post_name ON posts (post_name);
CREATE INDEX IF NOT EXISTS posts_type_status_date ON posts (post_type, post_status, post_date, id);
CREATE INDEX IF NOT EXISTS posts_post_parent ON posts (post_parent);
CREATE INDEX IF NOT EXISTS posts_post_author ON posts (post_author);

CREATE TABLE IF NOT EXISTS postmeta (
  meta_id    bigserial    PRIMARY KEY,
  post_id    bigint       NOT NULL DEFAULT 0,
  meta_key   varchar(255),
  meta_value text
);
CREATE INDEX IF NOT EXISTS postmeta_post_id ON postmeta (post_id);
CREATE INDEX IF NOT EXISTS postmeta_meta_key ON postmeta (meta_key);

CREATE TABLE IF NOT EXISTS options (
  option_id    bigserial    PRIMARY KEY,
  option_name  varchar(191) NOT NULL UNIQUE,
  option_value text         NOT NULL,
  autoload     varchar(20)  NOT NULL DEFAULT 'yes'
);
CREATE INDEX IF NOT EXISTS options_autoload ON options (autoload);

CREATE TABLE IF NOT EXISTS terms (
  term_id    bigserial    PRIMARY KEY,
  name       varchar(200) NOT NULL DEFAULT '',
  slug       varchar(200) NOT NULL DEFAULT '',
  term_group bigint       NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS terms_slug ON terms (slug);
CREATE INDEX IF NOT EXISTS terms_name ON terms (name);

CREATE TABLE IF NOT EXISTS term_taxonomy (
  term_taxonomy_id bigserial   PRIMARY KEY,
  term_id          bigint      NOT NULL DEFAULT 0,
  taxonomy         varchar(32) NOT NULL DEFAULT '',
  description      text        NOT NULL DEFAULT '',
  parent           bigint      NOT NULL DEFAULT 0,
  count            bigint      NOT NULL DEFAULT 0,
  UNIQUE (term_id, taxonomy)
);
CREATE INDEX IF NOT EXISTS term_taxonomy_taxonomy ON term_taxonomy (taxonomy);

CREATE TABLE IF NOT EXISTS term_relationships (
  object_id        bigint  NOT NULL DEFAULT 0,
  term_taxonomy_id bigint  NOT NULL DEFAULT 0,
  term_order       integer NOT NULL DEFAULT 0,
  PRIMARY KEY (object_id, term_taxonomy_id)
);
CREATE INDEX IF NOT EXISTS term_relationships_term_taxonomy_id ON term_relationships (term_taxonomy_id);

CREATE TABLE IF NOT EXISTS comments (
  comment_id           bigserial    PRIMARY KEY,
  comment_post_id      bigint       NOT NULL DEFAULT 0,
  comment_author       text         NOT NULL DEFAULT '',
  comment_author_email varchar(100) NOT NULL DEFAULT '',
  comment_author_url   varchar(200) NOT NULL DEFAULT '',
  comment_author_ip    varchar(100) NOT NULL DEFAULT '',
  comment_date         timestamp(0) NOT NULL DEFAULT ${now},
  comment_date_gmt     timestamp(0) NOT NULL DEFAULT ${now},
  comment_content      text         NOT NULL DEFAULT '',
  comment_karma        integer      NOT NULL DEFAULT 0,
  comment_approved     varchar(20)  NOT NULL DEFAULT '1',
  comment_agent        varchar(255) NOT NULL DEFAULT '',
  comment_type         varchar(20)  NOT NULL DEFAULT 'comment',
  comment_parent       bigint       NOT NULL DEFAULT 0,
  user_id              bigint       NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS comments_comment_post_id ON comments (comment_post_id);
CREATE INDEX IF NOT EXISTS comments_approved_date_gmt ON comments (comment_approved, comment_date_gmt);
CREATE INDEX IF NOT EXISTS comments_comment_date_gmt ON comments (comment_date_gmt);
CREATE INDEX IF NOT EXISTS comments_comment_parent ON comments (comment_parent);
CREATE INDEX IF NOT EXISTS comments_comment_author_email ON comments (comment_author_email);

CREATE TABLE IF NOT EXISTS commentmeta (
  meta_id    bigserial    PRIMARY KEY,
  comment_id bigint       NOT NULL DEFAULT 0,
  meta_key   varchar(255),
  meta_value text
);
CREATE INDEX IF NOT EXISTS commentmeta_comment_id ON commentmeta (comment_id);
CREATE INDEX IF NOT EXISTS commentmeta_meta_key ON commentmeta (meta_key);

CREATE TABLE IF NOT EXISTS links (
  link_id          bigserial    PRIMARY KEY,
  link_url         varchar(255) NOT NULL DEFAULT '',
  link_name        varchar(255) NOT NULL DEFAULT '',
  link_image       varchar(255) NOT NULL DEFAULT '',
  link_target      varchar(25)  NOT NULL DEFAULT '',
  link_description varchar(255) NOT NULL DEFAULT '',
  link_visible     varchar(20)  NOT NULL DEFAULT 'Y',
  link_owner       bigint       NOT NULL DEFAULT 1,
  link_rating      integer      NOT NULL DEFAULT 0,
  link_updated     timestamp(0) NOT NULL DEFAULT ${now},
  link_rel         varchar(255) NOT NULL DEFAULT '',
  link_notes       text         NOT NULL DEFAULT '',
  link_rss         varchar(255) NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS links_link_visible ON links (link_visible);
`;

/** Changes whenever the DDL does: a template or spare built from another version is not this schema. */
export const WORDPRESS_SCHEMA_VERSION = createHash('sha256').update(WORDPRESS_DDL).digest('hex').slice(0, 12);

/** What `obj_description('options'::regclass, 'pg_class')` reads in a database that holds this schema. */
export const WORDPRESS_SCHEMA_MARK = `sitesaga-schema ${WORDPRESS_SCHEMA_VERSION}`;

/** The DDL, ending with the mark (written in the same transaction, so the mark means the whole schema). */
export const WORDPRESS_SCHEMA = `${WORDPRESS_DDL}COMMENT ON TABLE options IS '${WORDPRESS_SCHEMA_MARK}';\n`;
