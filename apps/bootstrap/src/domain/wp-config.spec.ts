import { randomBytes } from 'node:crypto';
import { phpString, renderWpConfig, siteSalts } from './wp-config';

const key = randomBytes(32);
const config = {
  siteId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  domain: 'blog.example.com',
  databaseName: 'site_0f8fad5bd9cb469fa16570867728950e',
  databaseUser: 'site_0f8fad5bd9cb469fa16570867728950e',
  databasePassword: 'pa$$-word',
  databaseHost: '127.0.0.1:5432',
};

describe('wp-config.php', () => {
  it('names the site database, its login and its URLs', () => {
    const file = renderWpConfig(config, key);
    expect(file.startsWith('<?php\n')).toBe(true);
    expect(file).toContain(`define( 'DB_NAME', 'site_0f8fad5bd9cb469fa16570867728950e' );`);
    expect(file).toContain(`define( 'DB_PASSWORD', 'pa$$-word' );`);
    expect(file).toContain(`define( 'DB_HOST', '127.0.0.1:5432' );`);
    expect(file).toContain(`define( 'WP_HOME', 'https://blog.example.com' );`);
    expect(file).toContain(`$table_prefix = '';`);
  });

  it('is the same bytes on every run, and differs between sites and keys', () => {
    expect(renderWpConfig(config, key)).toBe(renderWpConfig(config, key));
    expect(siteSalts(key, config.siteId)).not.toEqual(siteSalts(key, '1f8fad5b-d9cb-469f-a165-70867728950e'));
    expect(siteSalts(key, config.siteId)).not.toEqual(siteSalts(randomBytes(32), config.siteId));
    expect(Object.values(siteSalts(key, config.siteId)).every((salt) => salt.length === 64)).toBe(true);
  });

  it('quotes PHP strings so no value can end its string', () => {
    expect(phpString(`it's`)).toBe(`'it\\'s'`);
    expect(phpString(`a\\'); system('x`)).toBe(`'a\\\\\\'); system(\\'x'`);
  });
});
