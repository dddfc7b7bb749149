/** The site schema lives in @sitesaga/contracts: databases builds its spare databases' template from it too. */
export { WORDPRESS_SCHEMA, WORDPRESS_SCHEMA_MARK, WORDPRESS_SCHEMA_VERSION, WORDPRESS_TABLES } from '@sitesaga/contracts';
