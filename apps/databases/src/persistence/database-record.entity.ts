import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** PROVISIONED: database and role exist. DROPPED: both gone, for good (a tombstone). */
export type DatabaseStatus = 'PROVISIONED' | 'DROPPED';

/** A site's database on the site server (table `database_records`). */
@Entity({ name: 'database_records' })
export class DatabaseRecordEntity {
  @PrimaryColumn('uuid', { name: 'site_id' })
  siteId!: string;

  @Column('text', { name: 'database_name' })
  databaseName!: string;

  @Column('text', { name: 'role_name' })
  roleName!: string;

  /** The role's password, encrypted (SiteCredentials); null once dropped. */
  @Column('text', { name: 'password_encrypted', nullable: true })
  passwordEncrypted!: string | null;

  @Column('text')
  status!: DatabaseStatus;

  /** The saga that last changed it (null for records older than the column). */
  @Column('uuid', { name: 'saga_id', nullable: true })
  sagaId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
