import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { SagaFailure, SagaStatus } from '../saga-state';

/** One saga: its status, data and version. Written by SagaStore with plain SQL; the entity serves reads (admin) and schema checks. */
@Entity({ name: 'saga_instances' })
@Check('saga_instances_status_check', `status IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED')`)
@Index('saga_instances_created_at_idx', ['createdAt', 'id'])
@Index('saga_instances_status_created_at_idx', ['status', 'createdAt'])
@Index('saga_instances_search_key_idx', ['searchKey'], { where: 'search_key IS NOT NULL' })
export class SagaInstanceEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text')
  type!: string;

  @Column('text')
  status!: SagaStatus;

  @Column('integer')
  version!: number;

  @Column('integer', { name: 'definition_version', default: 1 })
  definitionVersion!: number;

  @Column('jsonb')
  data!: unknown;

  @Column('jsonb', { nullable: true })
  failure!: SagaFailure | null;

  @Column('text', { name: 'correlation_id' })
  correlationId!: string;

  @Column('text', { name: 'search_key', nullable: true })
  searchKey!: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
