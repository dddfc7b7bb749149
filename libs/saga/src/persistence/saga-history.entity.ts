import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { HistoryHops } from '../saga-state';
import { SagaInstanceEntity } from './saga-instance.entity';

/** Every message in and out of a saga, in order (`id`), for the admin timeline. */
@Entity({ name: 'saga_history' })
@Check('saga_history_direction_check', `direction IN ('in', 'out')`)
@Index('saga_history_saga_id_id_idx', ['sagaId', 'id'])
export class SagaHistoryEntity {
  /** bigint: a string in JavaScript. */
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @Column('uuid', { name: 'saga_id' })
  sagaId!: string;

  @ManyToOne(() => SagaInstanceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'saga_id', foreignKeyConstraintName: 'saga_history_saga_id_fkey' })
  saga?: SagaInstanceEntity;

  @Column('text')
  direction!: 'in' | 'out';

  /** Null for inputs that are not messages: a deadline, an operator's retry or abort. */
  @Column('text', { nullable: true })
  topic!: string | null;

  @Column('text', { name: 'message_id', nullable: true })
  messageId!: string | null;

  @Column('text')
  type!: string;

  @Column('text', { nullable: true })
  step!: string | null;

  @Column('timestamptz')
  at!: Date;

  /** Per-hop timing of a received message (HistoryHops), null when unknown. */
  @Column('jsonb', { nullable: true })
  hops!: HistoryHops | null;
}
